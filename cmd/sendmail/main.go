// Command sendmail is Postfix's Sendmail-compatible mail posting interface
// (also mailq, by argv[0]); see package sendmail.
package main

import (
	"os"

	"github.com/postfix-go/postfix/sendmail"
)

func main() {
	os.Exit(sendmail.Main(os.Args, os.Stdin, os.Stdout))
}
