// Command postdrop copies a message from sendmail into the maildrop queue;
// see package postdrop.
package main

import (
	"os"
	"runtime"

	"github.com/postfix-go/postfix/postdrop"
)

func main() {
	// A short-lived, mostly single-threaded program: one processor spares
	// the Go scheduler's thread wake-ups (make bench measures it).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(postdrop.Main(os.Args, os.Stdin, os.Stdout))
}
