// Command error is the error(8) and retry delivery agent; see package errorsvc.
package main

import "github.com/postfix-go/postfix/errorsvc"

func main() { errorsvc.Run() }
