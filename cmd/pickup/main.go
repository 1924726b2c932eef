// Command pickup moves messages from the maildrop queue to cleanup; see
// package pickup.
package main

import "github.com/postfix-go/postfix/pickup"

func main() { pickup.Main() }
