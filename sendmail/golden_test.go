package sendmail

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// splitArgs splits a golden file's argument line on blanks; '...' quotes.
func splitArgs(s string) []string {
	var args []string
	var cur strings.Builder
	in, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			in = !in
			have = true
		case (c == ' ') && !in:
			if have {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}

// runSubmission parses args, writes the message and returns a readable
// dump: the diagnostics, then one line per record, then the error.
func runSubmission(args []string, fixEOL string, message io.Reader) string {
	var out strings.Builder
	o, err := Parse("sendmail", args, Params{VerpDelims: "+=", VerpFilter: "-=+"})
	for _, d := range o.Diags {
		fmt.Fprintf(&out, "%s: %s\n", d.Level, d.Text)
	}
	if err != nil {
		fmt.Fprintf(&out, "fatal: %v\n", err)
		return out.String()
	}
	s := &Submission{Opts: o, UID: 1000, FullName: o.FullName, LineLimit: 64, FixEOL: fixEOL, HeaderLimit: 1024}
	s.Sender = "user"
	if o.Sender != nil {
		sender, ok := ParseSender(*o.Sender)
		if !ok {
			fmt.Fprintf(&out, "warning: -f option specified malformed sender: %s\n", *o.Sender)
		}
		s.Sender = sender
	}
	var buf bytes.Buffer
	w := record.NewWriter(&buf)
	werr := s.Write(w, message)
	w.Flush()
	r := record.NewReader(&buf, 0)
	for {
		t, data, err := r.Next()
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(&out, "record error: %v\n", err)
			}
			break
		}
		fmt.Fprintf(&out, "%c %q\n", t, data)
	}
	if werr != nil {
		fmt.Fprintf(&out, "fatal: %v\n", werr)
	}
	return out.String()
}

// parseGolden splits a .in file: "args:" and optional "fixeol:" lines,
// "---", then the message.
func parseGolden(data string) (args []string, fixEOL, message string) {
	fixEOL = "always"
	head, body, _ := strings.Cut(data, "---\n")
	for _, line := range strings.Split(head, "\n") {
		if v, ok := strings.CutPrefix(line, "args:"); ok {
			args = splitArgs(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(line, "fixeol:"); ok {
			fixEOL = strings.TrimSpace(v)
		}
	}
	return args, fixEOL, body
}

// TestGolden runs each testdata/golden/*.in through option parsing and
// record writing and compares with the .out file, diagnostics included.
func TestGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			args, fix, message := parseGolden(string(data))
			got := runSubmission(args, fix, strings.NewReader(message))
			outPath := strings.TrimSuffix(in, ".in") + ".out"
			if *update {
				os.WriteFile(outPath, []byte(got), 0o644)
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// FuzzSubmission checks that no command line and no message make the
// writer panic, and that what it writes is well-formed and ends with E.
func FuzzSubmission(f *testing.F) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	for _, in := range ins {
		data, _ := os.ReadFile(in)
		f.Add(string(data))
	}
	f.Fuzz(func(t *testing.T, data string) {
		args, fix, message := parseGolden(data)
		if len(args) > 20 {
			return
		}
		o, err := Parse("sendmail", args, Params{VerpDelims: "+=", VerpFilter: "-=+"})
		if err != nil {
			return
		}
		s := &Submission{Opts: o, Sender: "user", LineLimit: 64, FixEOL: fix, HeaderLimit: 1024}
		var buf bytes.Buffer
		w := record.NewWriter(&buf)
		werr := s.Write(w, strings.NewReader(message))
		w.Flush()
		r := record.NewReader(&buf, 0)
		var last record.Type
		for {
			typ, data, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("unreadable output: %v", err)
			}
			if (typ == record.Norm || typ == record.Cont) && len(data) > 64 {
				t.Fatalf("record longer than the line limit: %d", len(data))
			}
			last = typ
		}
		if werr == nil && last != record.End {
			t.Fatalf("output ends with %c, not E", last)
		}
	})
}

func TestParseModes(t *testing.T) {
	p := Params{VerpDelims: "+=", VerpFilter: "-=+"}
	cases := []struct {
		prog string
		args []string
		mode Mode
		err  string
	}{
		{"sendmail", nil, ModeEnqueue, ""},
		{"mailq", nil, ModeMailq, ""},
		{"newaliases", nil, ModeNewAlias, ""},
		{"sendmail", []string{"-bp"}, ModeMailq, ""},
		{"sendmail", []string{"-q"}, ModeFlushq, ""},
		{"sendmail", []string{"-bd", "-q"}, ModeDaemon, ""},
		{"sendmail", []string{"-bs"}, ModeUser, ""},
		{"sendmail", []string{"-bi"}, ModeNewAlias, ""},
		{"sendmail", []string{"-I"}, ModeNewAlias, ""},
		{"sendmail", []string{"-bh"}, ModeIgnore, ""},
		{"sendmail", []string{"-qRexample.com"}, ModeEnqueue, ""},
		{"sendmail", []string{"-bp", "-qRx"}, ModeMailq, "-qR can be used only in delivery mode"},
		{"sendmail", []string{"-bv", "-v"}, ModeEnqueue, "-v option cannot be used with -bv"},
		{"sendmail", []string{"-oA"}, ModeEnqueue, "-oA requires pathname"},
		{"sendmail", []string{"-X", "x"}, ModeEnqueue, "unsupported: -Xx"},
		{"sendmail", []string{"-q5m"}, ModeEnqueue, ""},
	}
	for _, tc := range cases {
		o, err := Parse(tc.prog, tc.args, p)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s %v: error %v, want %q", tc.prog, tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || o.Mode != tc.mode {
			t.Errorf("%s %v: mode %d err %v, want mode %d", tc.prog, tc.args, o.Mode, err, tc.mode)
		}
	}
	o, _ := Parse("sendmail", []string{"-v"}, p)
	if o.Flags&FlagRecord == 0 || o.Verbose != 0 {
		t.Errorf("-v: flags %b verbose %d, want the record flag and no verbose logging", o.Flags, o.Verbose)
	}
	o, _ = Parse("sendmail", []string{"-v", "-v"}, p)
	if o.Flags&FlagRecord != 0 || o.Verbose != 2 {
		t.Errorf("-v -v: flags %b verbose %d, want verbose logging only", o.Flags, o.Verbose)
	}
	if dir, _ := ConfigDir("sendmail", []string{"-q", "-C", "/x/y/main.cf", "a"}); dir != "/x/y" {
		t.Errorf("ConfigDir(-C main.cf) = %q", dir)
	}
	if dir, _ := ConfigDir("sendmail", []string{"-C/etc/alt"}); dir != "/etc/alt" {
		t.Errorf("ConfigDir(-C dir) = %q", dir)
	}
}

// TestDotEndsInteractiveInput: a "." line ends the message even when the
// input stays open, as for a person typing at a terminal.
func TestDotEndsInteractiveInput(t *testing.T) {
	o, err := Parse("sendmail", []string{"x@y"}, Params{})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte("Subject: typed\n\nhello\n.\n"))
	done := make(chan error, 1)
	var buf bytes.Buffer
	go func() {
		s := &Submission{Opts: o, Sender: "user", LineLimit: 2048, FixEOL: "always"}
		w := record.NewWriter(&buf)
		err := s.Write(w, pr)
		w.Flush()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(buf.Bytes(), []byte("hello")) || !bytes.HasSuffix(buf.Bytes(), []byte("E\x00")) {
			t.Errorf("records %q", buf.Bytes())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sendmail waited for more input after the \".\" line")
	}
}
