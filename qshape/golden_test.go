package qshape

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// parseRecords builds a queue file from a golden input: one record a
// line, its type letter, a space and its data; "raw HEX" appends bytes as
// they are; '#' starts a comment line.
func parseRecords(t testing.TB, text string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "raw "):
			raw, err := hex.DecodeString(line[4:])
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			b.Write(raw)
		default:
			data := ""
			if len(line) > 2 {
				data = line[2:]
			}
			putRec(&b, record.Type(line[0]), data)
		}
	}
	return b.Bytes()
}

// describe prints what readEnvelope made of a file, warnings included.
func describe(data []byte) string {
	var out strings.Builder
	warn := func(text string, line int) { fmt.Fprintf(&out, "warning: %s at qshape line %d.\n", text, line) }
	env, res := readEnvelope(bytes.NewReader(data), 1600000000, warn)
	switch res {
	case skipped:
		out.WriteString("result: skipped\n")
		return out.String()
	case unknown:
		fmt.Fprintf(&out, "result: unknown (no first record: %v)\n", env.noRecord)
		return out.String()
	}
	out.WriteString("result: found\n")
	fmt.Fprintf(&out, "arrival: %s", perlString(env.arrival))
	if env.timeRecord {
		fmt.Fprintf(&out, " (time record %q)", env.timeText)
	} else {
		out.WriteString(" (modification time)")
	}
	fmt.Fprintf(&out, "\nsender: %q\n", env.sender)
	for _, r := range env.recipients {
		fmt.Fprintf(&out, "recipient: %q\n", r)
	}
	return out.String()
}

// TestEnvelopeGolden reads each testdata/envelope/*.in as a queue file and
// compares what was found, and Perl's warnings, with the .out file.
func TestEnvelopeGolden(t *testing.T) {
	t.Parallel()
	ins, _ := filepath.Glob("testdata/envelope/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		text, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := describe(parseRecords(t, string(text)))
		checkGolden(t, strings.TrimSuffix(in, ".in")+".out", got)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestReportGolden runs qshape in-process, at a fixed time, over the
// fixture queue with several option sets; the expected standard output,
// standard error and status are in testdata/report.out.
func TestReportGolden(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0755)
	os.WriteFile(filepath.Join(etc, "main.cf"), []byte("queue_directory = "+qdir+"\n"), 0644)
	buildQueue(t, qdir, now)
	// Identical messages, so that the results so far do not depend on the
	// order the directory lists them in.
	same := filepath.Join(dir, "same")
	os.MkdirAll(same, 0700)
	var b bytes.Buffer
	putRec(&b, record.Size, "x")
	putRec(&b, record.Time, fmt.Sprint(now.Add(-time.Hour).Unix()))
	putRec(&b, record.From, "s@sender.example")
	putRec(&b, record.Rcpt, "a@one.example")
	putRec(&b, record.Rcpt, "b@two.example")
	putRec(&b, record.Rcpt, "c@two.example")
	putRec(&b, record.Mesg, "")
	putRec(&b, record.Xtra, "")
	putRec(&b, record.End, "")
	for i := range 5 {
		p := filepath.Join(same, fmt.Sprintf("SAME00%d", i))
		os.WriteFile(p, b.Bytes(), 0700)
		os.Chmod(p, 0700)
	}

	all := []string{"incoming", "active", "deferred", "hold", "maildrop", "corrupt"}
	cases := [][]string{
		{},
		{"-s"},
		append([]string{"-p"}, all...),
		append([]string{"-s", "-p", "-m", "1"}, all...),
		append([]string{"-l", "-t", "10", "-b", "6"}, all...),
		{"-b", "3", "-t", "2.5", "-w", "100", "deferred"},
		{"-w", "20", "-t", "bad", "-b", "", "deferred"},
		{"-s", "nonexistent", "maildrop"},
		{"-x"},
		// On a terminal: the screen is cleared (shown as <clear>) and the
		// results so far printed every -N messages, -n rows at most.
		{"tty", "-N", "2", "-n", "2", same},
		{"tty", "-N", "0", "-p", "deferred"},
	}
	var out strings.Builder
	for _, args := range cases {
		var so, se bytes.Buffer
		e := &env{prog: "qshape", stdout: &so, stderr: &se, now: now}
		if len(args) > 0 && args[0] == "tty" {
			args = args[1:]
			e.terminal, e.clear = true, "<clear>\n"
			fmt.Fprintf(&out, "(on a terminal) ")
		}
		status := run(append([]string{"-c", etc}, args...), e)
		shown := strings.ReplaceAll(strings.Join(args, " "), dir, "DIR")
		fmt.Fprintf(&out, "$ qshape %s\n%s", shown, so.String())
		if se.Len() > 0 {
			fmt.Fprintf(&out, "--- stderr\n%s", se.String())
		}
		fmt.Fprintf(&out, "--- exit %d\n\n", status)
	}
	checkGolden(t, "testdata/report.out", out.String())
}
