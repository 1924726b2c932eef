// Command postmap creates, queries and updates Postfix lookup tables; see
// package postmap.
package main

import (
	"os"

	"github.com/postfix-go/postfix/postmap"
)

func main() { os.Exit(postmap.Main(os.Args[1:])) }
