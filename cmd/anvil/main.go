// Command anvil is the anvil(8) daemon; see package anvil.
package main

import "github.com/postfix-go/postfix/anvil"

func main() { anvil.Run() }
