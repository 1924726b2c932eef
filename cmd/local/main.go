// Command local is the local(8) delivery agent; see package local.
package main

import "github.com/postfix-go/postfix/local"

func main() { local.Run() }
