// Command bounce is the bounce(8) daemon; see package bounce.
package main

import "github.com/postfix-go/postfix/bounce"

func main() { bounce.Run() }
