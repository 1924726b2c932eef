// Command postdrop copies a message from sendmail into the maildrop queue;
// see package postdrop.
package main

import (
	"os"

	"github.com/postfix-go/postfix/postdrop"
)

func main() {
	os.Exit(postdrop.Main(os.Args, os.Stdin, os.Stdout))
}
