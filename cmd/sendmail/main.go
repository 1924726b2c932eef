// Command sendmail is Postfix's Sendmail-compatible mail posting interface
// (also mailq, by argv[0]); see package sendmail.
package main

import (
	"os"
	"runtime"

	"github.com/postfix-go/postfix/sendmail"
)

func main() {
	// A short-lived, mostly single-threaded program: one processor spares
	// the Go scheduler's thread wake-ups (make bench measures it).
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	os.Exit(sendmail.Main(os.Args, os.Stdin, os.Stdout))
}
