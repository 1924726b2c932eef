package cleanup

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

var update = flag.Bool("update", false, "rewrite testdata/headers/*.out")

// fakeRewriter qualifies bare names with @example.org, as trivial-rewrite
// does with myorigin = example.org in both contexts.
type fakeRewriter struct{}

func (fakeRewriter) Rewrite(_, addr string) (string, error) {
	if addr != "" && !strings.Contains(addr, "@") {
		return addr + "@example.org", nil
	}
	return addr, nil
}

// testDaemon makes a Daemon from main.cf text (plus test defaults) whose
// log lines go to *logs.
func testDaemon(t testing.TB, mainCF string, logs *[]string) *Daemon {
	t.Helper()
	dir := t.TempDir()
	text := "queue_directory = " + filepath.Join(dir, "queue") + "\nmyhostname = host.example.com\n" +
		"myorigin = example.org\nmydestination = localhost, $myhostname\n" + mainCF
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := queue.FromConfig(c)
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	d := New(c, l)
	d.SetRewriter(fakeRewriter{})
	logf := func(prefix string) func(string, ...any) {
		return func(format string, args ...any) {
			*logs = append(*logs, prefix+fmt.Sprintf(format, args...))
		}
	}
	d.Info, d.Warn = logf(""), logf("warning: ")
	return d
}

// contentOf returns the content lines of the records cleanup built.
func contentOf(st *state) string {
	st.w.Flush()
	var b strings.Builder
	r := record.NewReader(bytes.NewReader(st.out.Bytes()), 0)
	inContent := false
	for {
		t, data, err := r.Next()
		if err != nil {
			break
		}
		switch {
		case t == record.Mesg:
			inContent = true
		case t == record.Xtra:
			inContent = false
		case inContent && t == record.Cont:
			b.Write(data)
		case inContent && t == record.Norm:
			b.Write(data)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestGoldenHeaders runs each testdata/headers/NAME.in (a message as a
// local client submits it) through header and body processing, and
// compares the content cleanup would queue, its log lines (warnings
// included) and its status with NAME.out. A NAME.cf adds main.cf lines.
func TestGoldenHeaders(t *testing.T) {
	t.Parallel()
	ins, _ := filepath.Glob("testdata/headers/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		name := strings.TrimSuffix(in, ".in")
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			extra, _ := os.ReadFile(name + ".cf")
			wd, _ := os.Getwd()
			var logs []string
			d := testDaemon(t, strings.ReplaceAll(string(extra), "$TESTDATA", filepath.Join(wd, "testdata")), &logs)
			st := newState(d, "GOLDEN")
			st.flags = submit.FlagMaskExternal
			for _, r := range stream(local("alice", "bob"), string(data)) {
				if !st.outOK() {
					continue
				}
				st.record(r.t, []byte(r.d))
			}
			if st.rcptCount == 0 && st.outOK() {
				st.errs |= submit.StatRcpt
			}
			got := msgidRE.ReplaceAllString(strings.ReplaceAll(contentOf(st), "GOLDEN", "QID"), "TIME.QID@") + "--- log\n"
			for _, l := range logs {
				got += strings.ReplaceAll(msgidRE.ReplaceAllString(strings.ReplaceAll(l, "GOLDEN", "QID"), "TIME.QID@"), "\n", "\\n") + "\n"
			}
			got += fmt.Sprintf("--- status %d %q\n", st.errs, st.reason)
			if *update {
				os.WriteFile(name+".out", []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(name + ".out")
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s:\n--- got\n%s--- want\n%s", name, got, want)
			}
		})
	}
}

// TestDiffGolden sends the golden inputs to Debian's cleanup and to ours:
// the golden files are thereby checked against Postfix.
func TestDiffGolden(t *testing.T) {
	t.Parallel()
	ins, _ := filepath.Glob("testdata/headers/*.in")
	wd, _ := os.Getwd()
	var cases []tcase
	for _, in := range ins {
		name := strings.TrimSuffix(in, ".in")
		data, _ := os.ReadFile(in)
		extra, _ := os.ReadFile(name + ".cf")
		cases = append(cases, tcase{name: filepath.Base(name), flags: submit.FlagMaskExternal,
			main: strings.ReplaceAll(string(extra), "$TESTDATA", filepath.Join(wd, "testdata")),
			recs: stream(local("alice", "bob"), string(data))})
	}
	diffCases(t, cases)
}

// fakeConn reads a client's bytes from r and discards cleanup's replies.
type fakeConn struct{ r io.Reader }

func (c fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c fakeConn) Close() error                     { return nil }
func (c fakeConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c fakeConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c fakeConn) SetDeadline(time.Time) error      { return nil }
func (c fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c fakeConn) SetWriteDeadline(time.Time) error { return nil }

// clientStream encodes a flags record and recs as a client sends them.
func clientStream(flags int, recs []rec) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "flags\x00%d\x00\x00", flags)
	w := record.NewWriter(&b)
	for _, r := range recs {
		w.PutString(r.t, r.d)
	}
	w.Flush()
	return b.Bytes()
}

// FuzzStream feeds arbitrary client streams to the cleanup daemon's
// reader and message processing: no panic, no hang, and a message is
// queued only when the status is 0.
func FuzzStream(f *testing.F) {
	f.Add(clientStream(submit.FlagMaskExternal, stream(local("alice", "bob"), rcvd+"Subject: x\n\nbody\n")))
	f.Add(clientStream(0, stream(local("", "bob"), rcvd+"To: a,\n b\nFrom: <>\n\n")))
	f.Add(clientStream(submit.FlagMaskExternal, []rec{{record.Rcpt, "x"}, {record.End, ""}}))
	f.Add([]byte("flags\x00x\x00\x00"))
	var logs []string
	d := testDaemon(f, "header_size_limit = 200\nmessage_size_limit = 4000\n", &logs)
	f.Fuzz(func(t *testing.T, in []byte) {
		logs = logs[:0]
		qf, err := d.layout.Create(queue.Incoming)
		if err != nil {
			t.Fatal(err)
		}
		defer qf.Abort()
		st := newState(d, qf.ID)
		sess, err := submit.Accept(fakeConn{bytes.NewReader(in)}, "fuzz", qf.ID, 0, d.maxRecord())
		if err != nil {
			return
		}
		st.flags = sess.Flags
		st.readAll(sess)
		status := st.finish(qf)
		_, statErr := os.Stat(qf.Path())
		if (status == 0) != (statErr == nil) && !st.discard {
			t.Fatalf("status %d but queue file stat: %v", status, statErr)
		}
		os.Remove(qf.Path())
	})
}
