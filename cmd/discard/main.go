// Command discard is the discard(8) delivery agent; see package discard.
package main

import "github.com/postfix-go/postfix/discard"

func main() { discard.Run() }
