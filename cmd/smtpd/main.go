// Command smtpd is the smtpd(8) daemon; see package smtpd.
package main

import "github.com/postfix-go/postfix/smtpd"

func main() { smtpd.Main() }
