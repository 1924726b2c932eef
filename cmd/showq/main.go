// Command showq is the mail queue listing daemon; see package showq.
package main

import "github.com/postfix-go/postfix/showq"

func main() { showq.Main() }
