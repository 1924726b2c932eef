package postconf

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

// masterResult is what one postconf run produced, plus master.cf after it.
type masterResult struct {
	Stdout, Stderr string
	Exit           int
	File           string
}

var inProcess sync.Mutex

// runOursInProcess runs Run as the postconf command would, capturing
// stdout, diagnostics and the exit status.
func runOursInProcess(args []string) (res masterResult) {
	inProcess.Lock()
	defer inProcess.Unlock()
	var so, se bytes.Buffer
	oldOut := msg.SetOutput(&se)
	oldProg := msg.ProgName()
	msg.SetProgName("postconf")
	code := -1
	oldExit := msg.SetExit(func(c int) { code = c })
	oldVerbose := msg.Verbose
	defer func() {
		msg.SetOutput(oldOut)
		msg.SetProgName(oldProg)
		msg.SetExit(oldExit)
		msg.Verbose = oldVerbose
		if r := recover(); r != nil {
			if _, ok := r.(msg.FatalExit); !ok {
				panic(r)
			}
		}
		res.Stdout, res.Stderr, res.Exit = so.String(), se.String(), code
	}()
	code = Run(args, &so)
	return
}

// useBinary reports whether cmd/postconf exists, so that the built
// command can be run instead of Run in process (PFGO_MASTER_INPROCESS=1
// forces the in-process run).
func useBinary() bool {
	if os.Getenv("PFGO_MASTER_INPROCESS") != "" {
		return false
	}
	_, err := os.Stat(filepath.Join(testutil.Root(), "cmd", "postconf", "main.go"))
	return err == nil
}

// runBoth runs Debian's postconf and ours on copies of dir, with -c
// pointing at the copy, and returns both results.
func runBoth(t *testing.T, dir string, args ...string) (ref, ours masterResult) {
	t.Helper()
	refBin := testutil.Reference(t, "/usr/sbin/postconf")
	run := func(which string) masterResult {
		d := filepath.Join(t.TempDir(), "etc")
		copyDir(t, dir, d)
		full := append([]string{"-c", d}, args...)
		var r masterResult
		if which == "ref" {
			x := testutil.Run(t, d, refBin, "postconf", nil, full...)
			r = masterResult{Stdout: x.Stdout, Stderr: x.Stderr, Exit: x.Exit}
		} else if useBinary() {
			x := testutil.Run(t, d, testutil.Bin(t, "postconf"), "postconf", nil, full...)
			r = masterResult{Stdout: x.Stdout, Stderr: x.Stderr, Exit: x.Exit}
		} else {
			r = runOursInProcess(full)
		}
		b, err := os.ReadFile(filepath.Join(d, "master.cf"))
		if err == nil {
			r.File = string(b)
		}
		r.Stdout = strings.ReplaceAll(r.Stdout, d, "DIR")
		r.Stderr = strings.ReplaceAll(r.Stderr, d, "DIR")
		return r
	}
	return run("ref"), run("ours")
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(to, e.Name())
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix waits until a freshly written main.cf is a second old;
		// backdating the copies keeps the test fast.
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

// diffResults describes how two results differ, "" when they do not.
func diffResults(ref, ours masterResult) string {
	var b strings.Builder
	cmp := func(what, a, c string) {
		if a == c {
			return
		}
		al, cl := strings.Split(a, "\n"), strings.Split(c, "\n")
		for i := 0; i < len(al) || i < len(cl); i++ {
			var x, y string
			if i < len(al) {
				x = al[i]
			}
			if i < len(cl) {
				y = cl[i]
			}
			if x != y || i >= len(al) || i >= len(cl) {
				b.WriteString(what + " differs at line " + strconv.Itoa(i+1) + ":\n  postfix: " + strconv.Quote(x) + "\n  ours:    " + strconv.Quote(y) + "\n")
				return
			}
		}
	}
	cmp("stdout", ref.Stdout, ours.Stdout)
	cmp("stderr", ref.Stderr, ours.Stderr)
	cmp("master.cf", ref.File, ours.File)
	if ref.Exit != ours.Exit {
		b.WriteString("exit status: postfix " + strconv.Itoa(ref.Exit) + ", ours " + strconv.Itoa(ours.Exit) + "\n")
	}
	return b.String()
}
