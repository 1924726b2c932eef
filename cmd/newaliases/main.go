// Command newaliases rebuilds the alias databases named by alias_database;
// see package postalias.
package main

import (
	"os"

	"github.com/postfix-go/postfix/postalias"
)

func main() { os.Exit(postalias.Newaliases(os.Args[1:])) }
