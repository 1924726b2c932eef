// Command postfix starts, stops, reloads and checks the mail system; see
// package postfixcmd.
package main

import (
	"os"

	postfixcmd "github.com/postfix-go/postfix/postfix"
)

func main() {
	os.Exit(postfixcmd.Main(os.Args[1:]))
}
