package qshape

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

// Ages are odd multiples of 2.5 minutes: at least 2.5 minutes from every
// bucket limit of bucket times 5 and 10 (geometric or linear), so that
// Debian's qshape, run a moment later than ours, sorts them alike.
type fixtureMsg struct {
	queue     string
	age       float64 // minutes
	sender    string
	rcpts     []string
	done      []string
	extracted []string
}

var fixtureMsgs = []fixtureMsg{
	{queue: "incoming", age: 2.5, sender: "alice@Example.COM", rcpts: []string{"bob@a.example.com", "carol@b.example.com"}},
	{queue: "incoming", age: 7.5, sender: "", rcpts: []string{"x@c.example.com", "y@d.example.com", "z@e.example.com"}},
	{queue: "active", age: 12.5, sender: "bounce@lists.example.org", rcpts: []string{"u1@gmail.com", "u2@gmail.com", "u3@GMAIL.com"}},
	{queue: "active", age: 27.5, sender: "news@lists.example.org", rcpts: []string{"p@mx1.hosting.example.net", "q@mx2.hosting.example.net"}},
	{queue: "deferred", age: 57.5, sender: "alice@example.com", rcpts: []string{"r@yahoo.com"}, done: []string{"d@done.example"}, extracted: []string{"ex@extracted.example.com"}},
	{queue: "deferred", age: 112.5, sender: "list-bounces@averyveryverylongsubdomainname.example-domain-long.com", rcpts: []string{"l@averyveryverylongsubdomainname.example-domain-long.com"}},
	{queue: "deferred", age: 222.5, sender: "x@y@z.example", rcpts: []string{"t@Trailing.Dot.example.com.", "w@double..dot.example.com", "@nouser.example.com", "noat"}},
	{queue: "deferred", age: 452.5, sender: "alice@example.com", rcpts: []string{"a@f.example.com", "b@g.example.com"}},
	{queue: "deferred", age: 902.5, sender: "bob@example.com", rcpts: []string{"c@h.example.com", "m@yahoo.com"}},
	{queue: "deferred", age: 2002.5, sender: "bob@example.com", rcpts: []string{"m@yahoo.com", "n@yahoo.com"}},
	{queue: "deferred", age: 632.5, sender: "weird@", rcpts: []string{"a@b@c.example", "..x..", "y.", ".", "@", "...", "z@.dotted.example.",
		"Up@MiXeD.Example", "\xc3\xa9@\xc3\x89.example", "q@a...b.example", "p@sub.sub2.x.example", "r@.sub.x.example"}},
	{queue: "hold", age: 40002.5, sender: "spam@bad.example", rcpts: []string{"h@hold.example", "h2@sub.hold.example"}},
}

// putRec appends one record to b.
func putRec(b *bytes.Buffer, t record.Type, data string) {
	w := record.NewWriter(b)
	w.PutString(t, data)
	w.Flush()
}

// buildQueue fills dir (a queue_directory) with messages arrived before
// now, and with the odd files qshape must skip or treat as Postfix does.
func buildQueue(t testing.TB, dir string, now time.Time) {
	t.Helper()
	l := queue.Layout{Dir: dir, Hashed: []string{"deferred", "defer"}, Depth: 1, LineLimit: 2048}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	at := func(min float64) time.Time { return now.Add(-time.Duration(min * float64(time.Minute))) }
	for _, m := range fixtureMsgs {
		qm := &queue.Message{Arrival: at(m.age), Sender: m.sender, RewriteContext: "local",
			Content: []byte("Subject: test\n\nbody\n")}
		for _, r := range m.rcpts {
			qm.Recipients = append(qm.Recipients, queue.Recipient{Address: r, Orig: r})
		}
		for _, r := range m.done {
			qm.Recipients = append(qm.Recipients, queue.Recipient{Address: r, Done: true})
		}
		for _, r := range m.extracted {
			qm.Extracted = append(qm.Extracted, queue.Recipient{Address: r})
		}
		if _, err := l.WriteMessage(m.queue, qm); err != nil {
			t.Fatal(err)
		}
	}
	write := func(rel string, mode os.FileMode, data []byte, mtime time.Time) {
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p, data, 0600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			os.Chtimes(p, mtime, mtime)
		}
	}
	var b bytes.Buffer
	// maildrop: a file that starts with the sender; its age is its mtime.
	putRec(&b, record.From, "submit@local.example")
	putRec(&b, record.Rcpt, "rcpt@maildrop.example")
	putRec(&b, record.Mesg, "")
	putRec(&b, record.Norm, "Subject: hi")
	putRec(&b, record.Xtra, "")
	putRec(&b, record.End, "")
	write("maildrop/1A2B3C4D5E", 0744, b.Bytes(), at(17.5))
	// maildrop: the full name first.
	b.Reset()
	putRec(&b, record.FullName, "Full Name")
	putRec(&b, record.From, "f@local.example")
	putRec(&b, record.Rcpt, "rcpt2@maildrop.example")
	putRec(&b, record.Mesg, "")
	putRec(&b, record.Cont, "a long ")
	putRec(&b, record.Norm, "line")
	putRec(&b, record.Xtra, "")
	putRec(&b, record.Rcpt, "rcpt3@maildrop.example")
	putRec(&b, record.End, "")
	write("maildrop/2B3C4D5E6F", 0744, b.Bytes(), at(47.5))
	// maildrop: the time record first, as sendmail writes; Postfix's
	// script counts it with -s as a null sender of the epoch.
	b.Reset()
	putRec(&b, record.Time, strconv.FormatInt(now.Unix(), 10)+" 0")
	putRec(&b, record.From, "late@local.example")
	putRec(&b, record.Rcpt, "r@maildrop.example")
	putRec(&b, record.End, "")
	write("maildrop/3C4D5E6F7A", 0744, b.Bytes(), at(2.5))
	// A file still being written (mode 0600), badly named files, and
	// a file others may write: all skipped.
	write("incoming/4D5E6F7A8B", 0600, b.Bytes(), time.Time{})
	write("incoming/short", 0700, b.Bytes(), time.Time{})
	write("incoming/tmp.123.4", 0700, b.Bytes(), time.Time{})
	write("incoming/5E6F7A8B9C", 0702, b.Bytes(), time.Time{})
	// An empty file and a file of garbage: unknown first records.
	write("active/EMPTY00001", 0700, nil, time.Time{})
	write("corrupt/GARBAGE001", 0700, []byte("hello, world\n"), time.Time{})
	// A queue file cut short, and one whose size record is not followed
	// by a time record.
	var full bytes.Buffer
	qm := &queue.Message{Arrival: at(7.5), Sender: "cut@example.com", Recipients: []queue.Recipient{{Address: "cut@cut.example"}},
		Content: bytes.Repeat([]byte("line of text\n"), 50)}
	qm.Encode(&full, 0)
	write("active/CUT0000001", 0700, full.Bytes()[:full.Len()-40], time.Time{})
	b.Reset()
	putRec(&b, record.Size, "1 2 3")
	putRec(&b, record.From, "no@time.example")
	putRec(&b, record.Rcpt, "no@time.example")
	putRec(&b, record.End, "")
	write("corrupt/NOTIME0001", 0700, b.Bytes(), time.Time{})
	// Pointer records, followed: a size record without the content length
	// makes the content be walked record by record.
	b.Reset()
	putRec(&b, record.Size, "none")
	putRec(&b, record.Time, strconv.FormatInt(at(7.5).Unix(), 10)+" 123")
	putRec(&b, record.From, "ptr@pointer.example")
	ptr := b.Len()
	putRec(&b, record.Pointer, "000000000000000") // patched below
	putRec(&b, record.Rcpt, "skipped@skipped.example")
	target := b.Len()
	putRec(&b, record.Rcpt, "one@pointer.example")
	putRec(&b, record.Mesg, "")
	putRec(&b, record.Norm, "Subject: x")
	ptr2 := b.Len()
	putRec(&b, record.Pointer, "000000000000000")
	putRec(&b, record.Norm, "skipped line")
	target2 := b.Len()
	putRec(&b, record.Xtra, "")
	putRec(&b, record.Rcpt, "two@pointer.example")
	putRec(&b, record.End, "")
	data := b.Bytes()
	copy(data[ptr+2:], []byte(pad15(target)))
	copy(data[ptr2+2:], []byte(pad15(target2)))
	write("active/POINTER001", 0700, data, time.Time{})
	// Files written by Postfix's cleanup (internal/queue's reference
	// files), their arrival time moved to a fixed age.
	for i, name := range []string{"cleanup-short.queue", "cleanup-long.queue"} {
		data, err := os.ReadFile(filepath.Join("..", "internal", "queue", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		c := int(data[1])
		if data[0] != 'C' || data[2+c] != 'T' {
			t.Fatalf("%s: no time record after the size record", name)
		}
		copy(data[4+c:], strconv.FormatInt(at(47.5+float64(i)*180).Unix(), 10))
		write(filepath.Join([]string{"active", "incoming"}[i], "CLEANUP00"+strconv.Itoa(i)), 0700, data, time.Time{})
	}
	// A directory named like a queue file, and a symbolic link.
	os.MkdirAll(filepath.Join(dir, "deferred", "SUBDIR0001"), 0700)
	os.Symlink(filepath.Join(dir, "active", "POINTER001"), filepath.Join(dir, "hold", "SYMLINK001"))
}

func pad15(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 15 {
		s = " " + s
	}
	return s
}
