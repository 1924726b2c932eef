// Command proxymap is the proxymap(8) daemon; see package proxymap.
package main

import "github.com/postfix-go/postfix/proxymap"

func main() { proxymap.Run() }
