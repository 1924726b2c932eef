// Command trivial-rewrite is the trivial-rewrite(8) daemon; see package
// trivialrewrite.
package main

import "github.com/postfix-go/postfix/trivialrewrite"

func main() { trivialrewrite.Run() }
