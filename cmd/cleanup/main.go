// Command cleanup is the cleanup(8) daemon; see package cleanup.
package main

import "github.com/postfix-go/postfix/cleanup"

func main() { cleanup.Run() }
