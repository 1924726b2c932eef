// Command postalias creates, queries and updates Postfix alias databases;
// see package postalias.
package main

import (
	"os"

	"github.com/postfix-go/postfix/postalias"
)

func main() { os.Exit(postalias.Main(os.Args[1:])) }
