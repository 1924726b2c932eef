package submit

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit/oracle"
)

// message sends a small local submission on st.
func message(t *testing.T, st *Stream, sender string, rcpts []string, body string) {
	t.Helper()
	st.PutString(record.Time, "1700000000 123456")
	st.PutAttr("rewrite_context", "local")
	st.PutString(record.From, sender)
	for _, r := range rcpts {
		st.PutString(record.Rcpt, r)
	}
	st.Put(record.Mesg, nil)
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		st.PutString(record.Norm, l)
	}
	st.Put(record.Xtra, nil)
	if err := st.Put(record.End, nil); err != nil {
		t.Fatal(err)
	}
}

// waitLog waits until a log record containing want arrives.
func waitLog(t *testing.T, s *oracle.System, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range s.Logs() {
			if strings.Contains(l, want) {
				return l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no log line with %q; have %q", want, s.Logs())
	return ""
}

func waitTrigger(s *oracle.System) string {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && s.Triggers() == "" {
		time.Sleep(10 * time.Millisecond)
	}
	return s.Triggers()
}

// TestRealCleanup hands messages to Debian's cleanup daemon through our
// client and checks the outcome in its queue, its log and its replies.
func TestRealCleanup(t *testing.T) {
	t.Parallel()
	s := oracle.New(t, "message_size_limit = 2000\n", nil)
	s.Start(t, "")
	c, err := conf.Load(s.Etc)
	if err != nil {
		t.Fatal(err)
	}

	// A good message is queued in incoming/ and qmgr is triggered.
	st, err := Open(c, FlagMaskExternal)
	if err != nil {
		t.Fatal(err)
	}
	id := st.QueueID()
	if !queue.ValidName(id) {
		t.Fatalf("queue id %q", id)
	}
	message(t, st, "alice", []string{"bob@example.net"}, "Received: by host\nSubject: hi\n\nbody\n")
	status, reason, err := st.Close()
	if err != nil || status != StatOK || reason != "" {
		t.Fatalf("close: status=%d reason=%q err=%v\n%s", status, reason, err, strings.Join(s.Logs(), "\n"))
	}
	l := queue.FromConfig(c)
	f, err := os.Open(l.Path(queue.Incoming, id))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := queue.Decode(f, 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender != "alice@example.org" || len(m.Recipients) != 1 || m.Recipients[0].Address != "bob@example.net" {
		t.Errorf("queued sender %q recipients %+v", m.Sender, m.Recipients)
	}
	if !strings.Contains(string(m.Content), "Subject: hi\n") || !strings.Contains(string(m.Content), "\nbody\n") {
		t.Errorf("content %q", m.Content)
	}
	waitLog(t, s, id+": message-id=<")
	// cleanup wakes qmgr with "W" and a NUL byte, as Postfix does.
	if tr := waitTrigger(s); tr != "W\x00" {
		t.Errorf("qmgr triggers %q", tr)
	}

	// Milters enabled but no Received: header: cleanup refuses the
	// message as a protocol error (pickup and smtpd always add one).
	st, err = Open(c, FlagMaskExternal)
	if err != nil {
		t.Fatal(err)
	}
	message(t, st, "alice", []string{"bob@example.net"}, "Subject: hi\n\nbody\n")
	status, _, err = st.Close()
	if err != nil || status != StatBad {
		t.Fatalf("no Received: status=%d err=%v", status, err)
	}
	waitLog(t, s, "warning: "+st.QueueID()+": message rejected: no Received: header")

	// Too big: StatSize, which Postfix reports as 552 5.3.4.
	st, err = Open(c, FlagMaskInternal)
	if err != nil {
		t.Fatal(err)
	}
	message(t, st, "alice", []string{"bob@example.net"}, "Received: x\nSubject: big\n\n"+strings.Repeat("x\n", 1500))
	status, _, err = st.Close()
	if err != nil || status != StatSize {
		t.Fatalf("oversize: status=%d err=%v %q", status, err, s.Logs())
	}
	if code, enh, text := Detail(status); code != 552 || enh != "5.3.4" || text != "Error: message file too big" {
		t.Errorf("Detail(%d) = %d %s %s", status, code, enh, text)
	}
	if _, err := os.Stat(l.Path(queue.Incoming, st.QueueID())); err == nil {
		t.Errorf("oversize message %s was queued", st.QueueID())
	}

	// No recipients.
	st, err = Open(c, FlagMaskExternal)
	if err != nil {
		t.Fatal(err)
	}
	message(t, st, "alice", nil, "Received: x\nSubject: none\n\nx\n")
	status, reason, err = st.Close()
	if err != nil || status != StatRcpt {
		t.Fatalf("no recipients: status=%d reason=%q err=%v", status, reason, err)
	}

	// Hold flag: the file goes to hold/, no trigger needed.
	st, err = Open(c, FlagMaskExternal|FlagHold)
	if err != nil {
		t.Fatal(err)
	}
	message(t, st, "alice", []string{"bob@example.net"}, "Received: x\nSubject: held\n\nx\n")
	if status, _, err = st.Close(); err != nil || status != StatOK {
		t.Fatalf("hold: status=%d err=%v", status, err)
	}
	if _, err := os.Stat(l.Path(queue.Hold, st.QueueID())); err != nil {
		t.Errorf("held message: %v", err)
	}
}

// TestRoundTrip runs our client against our server side.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "cleanup")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type rec struct {
		t record.Type
		d string
	}
	got := make(chan []rec, 1)
	flagsc := make(chan int, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		s, err := Accept(conn, "public/cleanup", "ABC123", 5*time.Second, 0)
		if err != nil {
			t.Error(err)
			return
		}
		flagsc <- s.Flags
		var recs []rec
		for {
			typ, d, err := s.Next()
			if err != nil {
				t.Error(err)
				return
			}
			recs = append(recs, rec{typ, string(d)})
			if typ == record.End {
				break
			}
		}
		got <- recs
		s.Reply(StatCont, "5.7.1 go away")
	}()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenConn(conn, "public/cleanup", FlagBCCOK|FlagSMTPUTF8, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.QueueID() != "ABC123" {
		t.Errorf("queue id %q", st.QueueID())
	}
	message(t, st, "a@b", []string{"c@d", "e@f"}, "Subject: x\n\nline\n")
	status, reason, err := st.Close()
	if err != nil || status != StatCont || reason != "5.7.1 go away" {
		t.Fatalf("close: %d %q %v", status, reason, err)
	}
	if f := <-flagsc; f != FlagBCCOK|FlagSMTPUTF8 {
		t.Errorf("flags %d", f)
	}
	want := []rec{{record.Time, "1700000000 123456"}, {record.Attr, "rewrite_context=local"}, {record.From, "a@b"},
		{record.Rcpt, "c@d"}, {record.Rcpt, "e@f"}, {record.Mesg, ""}, {record.Norm, "Subject: x"}, {record.Norm, ""},
		{record.Norm, "line"}, {record.Xtra, ""}, {record.End, ""}}
	recs := <-got
	if len(recs) != len(want) {
		t.Fatalf("got %v", recs)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d: %v, want %v", i, recs[i], want[i])
		}
	}
}

func TestDetail(t *testing.T) {
	t.Parallel()
	cases := []struct {
		st   int
		code int
		enh  string
		text string
	}{
		{StatOK, 250, "2.0.0", "Success"},
		{StatWrite, 451, "4.3.0", "Error: queue file write error"},
		{StatSize, 552, "5.3.4", "Error: message file too big"},
		{StatHops, 554, "5.4.0", "Error: too many hops"},
		{StatRcpt, 550, "5.1.0", "Error: no recipients specified"},
		{StatCont, 550, "5.7.1", "Error: message content rejected"},
		{StatDefer, 451, "4.7.1", "Error: service unavailable"},
		{StatSize | StatWrite, 552, "5.3.4", "Error: message file too big"}, // the table's order decides
		{StatDefer | StatCont, 451, "4.7.1", "Error: service unavailable"},
	}
	for _, c := range cases {
		code, enh, text := Detail(c.st)
		if code != c.code || enh != c.enh || text != c.text {
			t.Errorf("Detail(%d) = %d %s %q, want %d %s %q", c.st, code, enh, text, c.code, c.enh, c.text)
		}
	}
}
