package bouncelog

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/dsn"
)

// sampleRequests holds one request of every command.
func sampleRequests() []*Request {
	e := sampleEntries[0]
	return []*Request{
		{Cmd: CmdAppend, Flags: FlagClean, QueueID: "97F04988064", Entry: e},
		{Cmd: CmdFlush, QueueName: "active", QueueID: "97F04988064", Encoding: "8bit", SMTPUTF8: 1, Sender: "s@example.org", EnvID: "ENV", Ret: dsn.RetHdrs},
		{Cmd: CmdWarn, Flags: FlagDelRcpt, QueueName: "deferred", QueueID: "4jc9Bv41czz1SKrr", Sender: ""},
		{Cmd: CmdVerp, QueueName: "active", QueueID: "X", Sender: "s@example.org", Verp: "+="},
		{Cmd: CmdOne, QueueName: "active", QueueID: "X", Sender: "s@example.org", Entry: e},
		{Cmd: CmdTrace, Flags: 1 << 10, QueueName: "active", QueueID: "X", Sender: "s@example.org"},
	}
}

// TestRequestRoundTrip encodes each request as a client sends it and reads
// it back as the daemon does.
func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range sampleRequests() {
		b, err := attr.Marshal(attr.Zero, r.attrs()...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadRequest(attr.NewDecoder(bytes.NewReader(b), attr.Zero))
		if err != nil {
			t.Fatalf("cmd %d: %v", r.Cmd, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("cmd %d:\n got %+v\nwant %+v", r.Cmd, got, r)
		}
	}
	// An unknown command and a request with a missing attribute.
	b, _ := attr.Marshal(attr.Zero, attr.Int("nrequest", 9), attr.Int("flags", 0))
	if _, err := ReadRequest(attr.NewDecoder(bytes.NewReader(b), attr.Zero)); err == nil || err.Error() != "unknown command: 9" {
		t.Errorf("unknown command: %v", err)
	}
	b, _ = attr.Marshal(attr.Zero, attr.Int("nrequest", CmdFlush), attr.Int("flags", 0), attr.Str("queue_name", "active"))
	d := attr.NewDecoder(bytes.NewReader(b), attr.Zero)
	d.Path = "private/bounce"
	if _, err := ReadRequest(d); err == nil || !strings.Contains(err.Error(), "missing attribute queue_id in input from private/bounce") {
		t.Errorf("short request: %v", err)
	}
}

// TestSendStatus runs Send against a fake daemon on a unix socket and
// checks the announcement, the request bytes and the status handling.
func TestSendStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = "+dir+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, "private", "defer"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan *Request, 2)
	statuses := []uint32{0, 1}
	go func() {
		for _, st := range statuses {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			enc := attr.NewEncoder(conn, attr.Zero)
			_ = enc.WriteProtocol(Protocol)
			_ = enc.Flush()
			r, err := ReadRequest(attr.NewDecoder(conn, attr.Zero))
			if err != nil {
				t.Errorf("server: %v", err)
			}
			got <- r
			_ = enc.Write(attr.Int("status", st))
			_ = enc.Flush()
			conn.Close()
		}
	}()
	if err := Warn(c, 0, "deferred", "97F04988064", "7bit", 0, "s@example.org", "", 0); err != nil {
		t.Errorf("Warn: %v", err)
	}
	if r := <-got; r.Cmd != CmdWarn || r.QueueName != "deferred" || r.Sender != "s@example.org" {
		t.Errorf("server read %+v", r)
	}
	err = DeferFlush(c, FlagDelRcpt, "deferred", "97F04988064", "7bit", 0, "s@example.org", "", 0)
	if err == nil || !strings.Contains(err.Error(), ErrFailed.Error()) {
		t.Errorf("DeferFlush with status 1: %v", err)
	}
	if r := <-got; r.Cmd != CmdFlush || r.Flags != FlagDelRcpt {
		t.Errorf("server read %+v", r)
	}
	// Nobody listens on private/bounce.
	if err := Flush(c, 0, "active", "97F04988064", "", 0, "", "", 0); err == nil {
		t.Error("Flush without a daemon succeeded")
	}
}

// FuzzReadRequest checks that no input makes ReadRequest panic and that
// whatever it accepts encodes back to a request it reads the same way.
func FuzzReadRequest(f *testing.F) {
	for _, r := range sampleRequests() {
		b, _ := attr.Marshal(attr.Zero, r.attrs()...)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadRequest(attr.NewDecoder(bytes.NewReader(data), attr.Zero))
		if err != nil {
			return
		}
		b, err := attr.Marshal(attr.Zero, r.attrs()...)
		if err != nil {
			return // a value the 0 form cannot carry
		}
		again, err := ReadRequest(attr.NewDecoder(bytes.NewReader(b), attr.Zero))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-read: %v\n%+v\n%+v", err, again, r)
		}
	})
}
