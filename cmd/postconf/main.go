// Command postconf shows and edits Postfix configuration; see package
// postconf.
package main

import (
	"os"

	"github.com/postfix-go/postfix/postconf"
)

func main() {
	os.Exit(postconf.Run(os.Args[1:], os.Stdout))
}
