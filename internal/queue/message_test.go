package queue

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// cleanupShort and cleanupLong describe the two files in testdata, which
// Debian's Postfix 3.7 cleanup wrote for "sendmail -f joe@example.com -F
// 'Joe User' bob@example.org alice@example.net" and for "sendmail -t -f ”
// -N success,delay -R hdrs -V envid123" with a Bcc and a 5000-byte line.
var cleanupShort = &Message{
	Arrival:        time.Unix(1795870256, 112561*1000),
	Created:        time.Unix(1795870257, 0),
	RewriteContext: "local",
	FullName:       "Joe User",
	Sender:         "joe@example.com",
	Recipients: []Recipient{
		{Address: "bob@example.org", Orig: "bob@example.org", DSNOrig: "rfc822;bob@example.org"},
		{Address: "alice@example.net", Orig: "alice@example.net", DSNOrig: "rfc822;alice@example.net"},
	},
	Content: []byte("Received: by host.example.com (Postfix, from userid 0)\n" +
		"\tid 97F04988064; Sat, 28 Nov 2026 12:50:56 +0000 (UTC)\n" +
		"Subject: hello\nFrom: Joe <joe@example.com>\nTo: bob@example.org\n" +
		"Message-Id: <20261128125057.97F04988064@host.example.com>\n" +
		"Date: Sat, 28 Nov 2026 12:50:56 +0000 (UTC)\n\nline one\nline two\n"),
}

var cleanupLong = &Message{
	Arrival:        time.Unix(1795870278, 354805*1000),
	Created:        time.Unix(1795870279, 0),
	EnvID:          "envid123",
	RetFlags:       2,
	RewriteContext: "local",
	FullName:       "root",
	Sender:         "",
	Content: []byte("Received: by host.example.com (Postfix, from userid 0)\n" +
		"\tid 4jc9Bv41czz1SKrr; Sat, 28 Nov 2026 12:51:18 +0000 (UTC)\n" +
		"Subject: two\nReturn-Receipt-To: rr@example.com\nErrors-To: err@example.com\n" +
		"To: a@example.org\nMessage-Id: <4jc9Bv41czz1SKrr@host.example.com>\n" +
		"Date: Sat, 28 Nov 2026 12:51:18 +0000 (UTC)\nFrom: MAILER-DAEMON\n\nbody\n" +
		strings.Repeat("x", 5000) + "\n.dot\n\n"),
	Extracted: []Recipient{
		{Address: "a@example.org", Orig: "a@example.org", DSNOrig: "rfc822;a@example.org", Notify: 10},
		{Address: "hidden@example.org", Orig: "hidden@example.org", DSNOrig: "rfc822;hidden@example.org", Notify: 10},
	},
	QmgrOpts: 20,
}

func TestEncodeLikeCleanup(t *testing.T) {
	for file, m := range map[string]*Message{"testdata/cleanup-short.queue": cleanupShort, "testdata/cleanup-long.queue": cleanupLong} {
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := m.Encode(&buf, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: encoding differs from cleanup's\n got % x\nwant % x", file, buf.Bytes(), want)
		}
		got, _, err := Decode(bytes.NewReader(want), 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s: decoded\n%+v\nwant\n%+v", file, got, m)
		}
	}
}

// randomMessage builds a message with random envelope and content. Header
// lines are "Name: value" with continuation lines, then an empty line and
// a body whose lines are sometimes longer than line_length_limit.
func randomMessage(rng *rand.Rand) *Message {
	word := func(n int) string {
		const chars = "abcdefghijklmnopqrstuvwxyz0123456789-._+ ;<>\"'()[]"
		b := make([]byte, 1+rng.IntN(n))
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		return strings.TrimSpace(string(b)) + "x"
	}
	m := &Message{
		Arrival:        time.Unix(1600000000+rng.Int64N(300000000), rng.Int64N(1000000)*1000),
		RewriteContext: []string{"", "local", "remote"}[rng.IntN(3)],
		Sender:         []string{"", "user@example.com", word(30) + "@" + word(10)}[rng.IntN(3)],
		QmgrOpts:       rng.IntN(32),
	}
	if rng.IntN(2) == 0 {
		m.Created = time.Unix(m.Arrival.Unix()+rng.Int64N(3), 0)
	}
	if rng.IntN(3) == 0 {
		m.FullName = word(20)
	}
	if rng.IntN(4) == 0 {
		m.EnvID, m.RetFlags = word(10), 1+rng.IntN(2)
	}
	for range rng.IntN(3) {
		m.Attrs = append(m.Attrs, Attr{"log_" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, word(8)), word(15)})
	}
	rcpt := func() Recipient {
		r := Recipient{Address: word(10) + "@" + word(10)}
		if rng.IntN(2) == 0 {
			r.Orig = r.Address
			r.DSNOrig = "rfc822;" + r.Address
		}
		if rng.IntN(3) == 0 {
			r.Notify = 1 + rng.IntN(15)
		}
		r.Done = rng.IntN(5) == 0
		return r
	}
	for range 1 + rng.IntN(4) {
		m.Recipients = append(m.Recipients, rcpt())
	}
	for range rng.IntN(3) {
		m.Extracted = append(m.Extracted, rcpt())
	}
	var c strings.Builder
	for range 1 + rng.IntN(6) {
		fmt.Fprintf(&c, "X-%s: %s\n", strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r
			}
			return 'h'
		}, word(10)), word(40))
		if rng.IntN(3) == 0 {
			fmt.Fprintf(&c, "\t%s\n", word(30))
		}
	}
	c.WriteString("\n")
	for range rng.IntN(8) {
		switch rng.IntN(6) {
		case 0:
			c.WriteString("\n")
		case 1:
			c.WriteString(strings.Repeat(word(10), 200+rng.IntN(800)) + "\n")
		default:
			c.WriteString(word(70) + "\n")
		}
	}
	m.Content = []byte(c.String())
	return m
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 300 {
		m := randomMessage(rng)
		limit := []int{0, 100, 2048}[i%3]
		var buf bytes.Buffer
		size, err := m.Encode(&buf, limit)
		if err != nil {
			t.Fatal(err)
		}
		got, gotSize, err := Decode(bytes.NewReader(buf.Bytes()), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got.Created.IsZero() != m.Created.IsZero() {
			t.Fatal("create time lost")
		}
		got.Arrival, got.Created = got.Arrival.In(m.Arrival.Location()), got.Created.In(m.Created.Location())
		if !m.Created.IsZero() {
			got.Created = m.Created
		}
		if !reflect.DeepEqual(got, m) || gotSize != size {
			t.Fatalf("message %d: decoded\n%+v\nwant\n%+v", i, got, m)
		}
		// The size record's offsets point where the records are.
		b := buf.Bytes()
		if b[size.DataOffset-2] != 'M' || b[size.DataOffset+size.DataSize] != 'X' {
			t.Fatalf("message %d: size record %+v does not point at M/X", i, size)
		}
	}
}

func TestBadAttrName(t *testing.T) {
	for _, name := range []string{"", "a b", "a=b", "a\n"} {
		m := &Message{Attrs: []Attr{{name, "v"}}}
		if _, err := m.Encode(io.Discard, 0); err == nil {
			t.Errorf("attribute name %q accepted", name)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := os.ReadFile("testdata/cleanup-short.queue")
	for name, in := range map[string][]byte{
		"empty":     nil,
		"not-queue": []byte("N\x01a"),
		"no-end":    good[:len(good)-2],
		"truncated": good[:300],
		"bad-size":  append([]byte("C\x03abc"), good[97:]...),
	} {
		if _, _, err := Decode(bytes.NewReader(in), 0); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
