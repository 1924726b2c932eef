// Command postqueue lists and flushes the mail queue; see package
// postqueue.
package main

import (
	"os"

	"github.com/postfix-go/postfix/postqueue"
)

func main() { os.Exit(postqueue.Main(os.Args, os.Stdout)) }
