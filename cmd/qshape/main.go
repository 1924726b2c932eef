// Command qshape prints the domain and age distribution of Postfix's
// queues; see package qshape.
package main

import (
	"os"

	"github.com/postfix-go/postfix/qshape"
)

func main() { os.Exit(qshape.Main(os.Args, os.Stdout, os.Stderr)) }
