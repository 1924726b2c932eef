package server

import (
	"strings"
	"testing"
)

// FuzzParseArgs feeds NUL-separated command lines to the skeleton's
// option parser: it must never panic, and what it accepts must be sane.
func FuzzParseArgs(f *testing.F) {
	f.Add("-z\x00-n\x00cleanup\x00-t\x00unix\x00-u\x00-c")
	f.Add("-l\x00-t\x00inet\x00-s\x003\x00-o\x00a=b\x00flags=R")
	f.Add("-s\x00x")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseArgs("testd", strings.Split(s, "\x00"))
		if err != nil {
			return
		}
		if a.listeners < 1 {
			t.Errorf("listeners %d", a.listeners)
		}
		if a.maxproc < -1 {
			t.Errorf("maxproc %d", a.maxproc)
		}
	})
}
