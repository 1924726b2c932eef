// Package msg writes a command's diagnostics the way Postfix's msg(3) does:
// "PROG: warning: TEXT" and "PROG: fatal: TEXT" on standard error, where PROG
// is argv[0] exactly as the program was invoked. A fatal message exits with
// status 1, as Postfix's msg_fatal does. Every TEXT goes through Printable
// (printable.go): bytes that are not printable ASCII become '?', except
// UTF-8 sequences when SetUTF8 said smtputf8_enable is on.
package msg

import (
	"fmt"
	"io"
	"os"
	"sync"
)

var (
	mu     sync.Mutex
	out    io.Writer = os.Stderr
	prog             = progName()
	exitFn           = os.Exit
	// Verbose counts -v flags; Info messages print when it is above zero.
	Verbose int
)

func progName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "postfix"
}

// SetOutput sends diagnostics to w (tests capture them this way) and
// returns the previous writer.
func SetOutput(w io.Writer) io.Writer {
	mu.Lock()
	defer mu.Unlock()
	old := out
	out = w
	return old
}

// SetProgName sets the PROG prefix of every message.
func SetProgName(name string) {
	mu.Lock()
	defer mu.Unlock()
	prog = name
}

// ProgName returns the PROG prefix of every message.
func ProgName() string {
	mu.Lock()
	defer mu.Unlock()
	return prog
}

// SetExit replaces os.Exit for Fatal (tests use it to stay alive).
func SetExit(f func(int)) func(int) {
	old := exitFn
	exitFn = f
	return old
}

// emit prints one diagnostic; its text goes through Printable first, as
// every Postfix message does.
func emit(level, format string, args ...any) {
	text := Printable(fmt.Sprintf(format, args...))
	mu.Lock()
	defer mu.Unlock()
	if level == "" {
		fmt.Fprintf(out, "%s: %s\n", prog, text)
		return
	}
	fmt.Fprintf(out, "%s: %s: %s\n", prog, level, text)
}

// Info prints an informational line "PROG: TEXT" when Verbose is set.
func Info(format string, args ...any) {
	if Verbose > 0 {
		emit("", format, args...)
	}
}

// Warn prints "PROG: warning: TEXT".
func Warn(format string, args ...any) { emit("warning", format, args...) }

// Error prints "PROG: error: TEXT".
func Error(format string, args ...any) { emit("error", format, args...) }

// Fatal prints "PROG: fatal: TEXT" and exits with status 1.
func Fatal(format string, args ...any) {
	emit("fatal", format, args...)
	exitFn(1)
	panic(FatalExit{})
}

// FatalExit is what Fatal panics with when SetExit replaced os.Exit with a
// function that returns; tests recover it.
type FatalExit struct{}
