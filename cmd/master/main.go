// Command master is the resident process of the mail system; see package
// master.
package main

import (
	"os"

	"github.com/postfix-go/postfix/master"
)

func main() {
	os.Exit(master.Main(os.Args[1:]))
}
