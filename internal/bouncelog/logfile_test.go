package bouncelog

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/bouncelog/reftest"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
)

// sampleEntries covers every optional field, quoting, the null recipient
// and characters that the log cannot hold.
var sampleEntries = []Entry{
	{Rcpt: dsn.Recipient{Orig: "Orig@Example.com", Address: "a b@example.com", Offset: 123,
		DSNOrig: "rfc822;orig@example.com", Notify: dsn.NotifyDelay | dsn.NotifyFailure},
		Status: dsn.Status{Code: "4.4.1", Action: dsn.Delayed, Reason: "connect to mx.example.com[192.0.2.1]:25: Connection refused",
			DiagType: "smtp", Diag: "450 4.4.1 try later\x01", MTAType: "dns", MTA: "mx.example.com"}},
	{Rcpt: dsn.Recipient{}, Status: dsn.Status{Code: "4.0.0", Reason: "r1 ü \t x\x7f \xff"}},
	{Rcpt: dsn.Recipient{Orig: "USER@example.com", Address: "user@example.com"},
		Status: dsn.Status{Code: "5.1.1", Action: dsn.Failed, Reason: "unknown user: \"user\""}},
	{Rcpt: dsn.Recipient{Orig: "o@x", Address: "a.@example.com"}, Status: dsn.Status{Action: dsn.Delayed}},
	{Rcpt: dsn.Recipient{Address: "q\"uote\\d@example.com", Notify: dsn.NotifyNever}, Status: dsn.New("5.0.0", "x")},
	{Rcpt: dsn.Recipient{Address: "..x@example.com"}, Status: dsn.New("5.0.0", "y")},
	{Rcpt: dsn.Recipient{Address: "user"}, Status: dsn.New("5.0.0", "no domain")},
	{Rcpt: dsn.Recipient{Address: "üser@exämple.com", Orig: "ü ser@example.com"}, Status: dsn.New("5.0.0", "8-bit")},
	{Rcpt: dsn.Recipient{Address: ".lead@example.com"}, Status: dsn.New("5.0.0", "dot")},
}

// TestAppendMatchesPostfix sends each sample entry to Debian's bounce
// daemon (the append request, through our client) and appends it with
// Append, then compares the two log files byte for byte, with and without
// backwards_bounce_logfile_compatibility.
func TestAppendMatchesPostfix(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{{}, {NoOldCompat: true}, {ASCII: true}} {
		extra := ""
		if o.NoOldCompat {
			extra += "backwards_bounce_logfile_compatibility = no\n"
		}
		if o.ASCII {
			extra += "smtputf8_enable = no\n"
		}
		for _, svc := range []string{queue.Defer, queue.Bounce} {
			e := reftest.NewEnv(t, extra)
			dir, l := e.Dir, e.Layout
			d := e.Start(t, reftest.Bounce, svc)
			c, err := conf.Load(filepath.Join(dir, "etc"))
			if err != nil {
				t.Fatal(err)
			}
			const id = "97F04988064"
			ours := queue.Layout{Dir: t.TempDir(), Hashed: l.Hashed, Depth: l.Depth}
			for _, e := range sampleEntries {
				if err := sendTo(c, d.Sock, svc, &Request{Cmd: CmdAppend, QueueID: id, Entry: e}); err != nil {
					t.Fatalf("append to real %s: %v", svc, err)
				}
				if err := AppendOpts(ours, svc, id, e, o); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(l.Path(svc, id))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(ours.Path(svc, id))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s %+v:\n got %q\nwant %q", svc, o, got, want)
			}
			st, err := os.Stat(ours.Path(svc, id))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("log mode %v, %v", st.Mode(), err)
			}
			// Both files read back alike.
			ge, gw, _ := Parse(bytes.NewReader(got), "x", svc, o)
			we, ww, _ := Parse(bytes.NewReader(want), "x", svc, o)
			if !reflect.DeepEqual(ge, we) || len(gw)+len(ww) != 0 {
				t.Errorf("parse differs: %v %v", gw, ww)
			}
			if len(ge) != len(sampleEntries) {
				t.Errorf("read %d entries, want %d", len(ge), len(sampleEntries))
			}
		}
	}
}

func TestReadBack(t *testing.T) {
	t.Parallel()
	l := queue.Layout{Dir: t.TempDir(), Hashed: []string{queue.Defer}, Depth: 1}
	const id = "97F04988064"
	if _, err := Read(l, queue.Defer, id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing log: %v", err)
	}
	for _, e := range sampleEntries[:3] {
		if err := Append(l, queue.Defer, id, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "defer", "9", id)); err != nil {
		t.Fatalf("log not in its hashed directory: %v", err)
	}
	got, err := Read(l, queue.Defer, id)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Rcpt: dsn.Recipient{Orig: "Orig@Example.com", Address: `"a b"@example.com`, Offset: 123,
			DSNOrig: "rfc822;orig@example.com", Notify: 12},
			Status: dsn.Status{Code: "4.4.1", Action: "delayed", Reason: "connect to mx.example.com[192.0.2.1]:25: Connection refused",
				DiagType: "smtp", Diag: "450 4.4.1 try later?", MTAType: "dns", MTA: "mx.example.com"}},
		{Rcpt: dsn.Recipient{Address: "<>"}, Status: dsn.Status{Code: "4.0.0", Action: "delayed", Reason: "r1 ü ? x? ?"}},
		{Rcpt: dsn.Recipient{Address: "user@example.com"}, Status: dsn.Status{Code: "5.1.1", Action: "failed", Reason: `unknown user: "user"`}},
	}
	for i := range got {
		if got[i].When.IsZero() {
			t.Errorf("entry %d has no time", i)
		}
		got[i].When = want[i].When
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read:\n got %+v\nwant %+v", got, want)
	}
	if !Exists(l, queue.Defer, id) {
		t.Error("Exists: false")
	}
	if err := Remove(l, queue.Defer, id); err != nil {
		t.Fatal(err)
	}
	if err := Remove(l, queue.Defer, id); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if Exists(l, queue.Defer, id) {
		t.Error("Exists after Remove")
	}
	if err := Append(l, queue.Defer, "../x", sampleEntries[0]); err == nil || !strings.Contains(err.Error(), "malformed queue id") {
		t.Errorf("bad queue id: %v", err)
	}
}
