// Package oneproc gives a daemon started by master(8) one processor
// (GOMAXPROCS 1, see server.Run) from the first moments of the program,
// rather than once main runs.
//
// server.Run sets GOMAXPROCS to 1, but by then the runtime has run every
// package's initialisation with as many processors as the machine has,
// started threads for them and must stop the world to shrink. A daemon
// starts every max_use clients, so that start-up is paid often. This
// package has no dependencies but the runtime and syscall, so it is
// initialised before nearly all others; it acts only in a process that
// master started (GENERATION is in its environment) and only when no
// GOMAXPROCS was given (import_environment), which still wins, as in
// server.Run. Importing it (for its side effect) is all a program does.
package oneproc

import (
	"runtime"
	"syscall"
)

func init() {
	if _, set := syscall.Getenv("GOMAXPROCS"); set {
		return
	}
	if _, child := syscall.Getenv("GENERATION"); child {
		runtime.GOMAXPROCS(1)
	}
}
