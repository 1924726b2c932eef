package qmgr

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

// withWarnRecord re-encodes a queue file with a W record (the delay
// warning time cleanup writes when delay_warning_time is set, "%15ld")
// after the sender record, fixing the size record's content offset.
func withWarnRecord(t *testing.T, data []byte, when time.Time) []byte {
	t.Helper()
	warn := fmt.Sprintf("%15d", when.Unix())
	extra := int64(1 + record.LengthSize(len(warn)) + len(warn))
	var out bytes.Buffer
	w := record.NewWriter(&out)
	rr := record.NewReader(bytes.NewReader(data), 0)
	for {
		typ, d, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if typ == record.Size {
			sz, err := queue.ParseSize(string(d))
			if err != nil {
				t.Fatal(err)
			}
			sz.DataOffset += extra
			d = []byte(sz.String())
		}
		if err := w.Put(typ, d); err != nil {
			t.Fatal(err)
		}
		if typ == record.From {
			if err := w.PutString(record.Warn, warn); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestDelayWarningOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bounces := e.bounceService()
	var content []string
	e.agent("smtp", func(r *deliver.Request) int {
		rd, err := r.Content()
		if err == nil {
			b, _ := io.ReadAll(rd)
			rd.Close()
			content = append(content, string(b))
		}
		r.Defer(&r.Recipients[0], "none", deliverStatus("4.4.1", "try later"))
		return deliver.StatFinal
	})
	id := e.submit("s@example.com", "x@remote.example")
	p := e.l.Path(queue.Incoming, id)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, withWarnRecord(t, b, time.Now().Add(-time.Minute)), 0o700); err != nil {
		t.Fatal(err)
	}
	e.run("I")
	select {
	case r := <-bounces:
		if r.Cmd != 2 || r.QueueID != id { // warn
			t.Errorf("request %+v, want a delay warning", r)
		}
	default:
		t.Fatal("no delay warning was requested")
	}
	f, _ := os.Open(e.l.Path(queue.Deferred, id))
	msg, err := readMessage(f, id, "")
	f.Close()
	if err != nil || !msg.warnTime.IsZero() || msg.warnOffset == 0 {
		t.Fatalf("warning record not cleared: %+v %v", msg, err)
	}
	e.run("A")
	if len(bounces) != 0 {
		t.Errorf("a second warning was requested")
	}
	if len(content) != 2 || content[0] != "Subject: test\n\nbody\n" {
		t.Errorf("agent read %q", content)
	}
}
