// Command qmgr is the qmgr(8) queue manager; see package qmgr.
package main

import "github.com/postfix-go/postfix/qmgr"

func main() { qmgr.Run() }
