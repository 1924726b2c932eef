package smtpread

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
)

// rec is one content record as a test sees it.
type rec struct {
	typ  record.Type
	data string
}

func (r rec) String() string { return string(r.typ) + " " + strconv.Quote(r.data) }

// readData runs ReadData on raw input and returns the records, the result
// and the error.
func readData(raw string, opts Options) ([]rec, DataResult, error) {
	var recs []rec
	r := NewReader(bufio.NewReader(strings.NewReader(raw)), opts)
	res, err := r.ReadData(func(line []byte, partial bool) error {
		t := record.Norm
		if partial {
			t = record.Cont
		}
		recs = append(recs, rec{t, string(line)})
		return nil
	})
	return recs, res, err
}

func describeData(raw string, opts Options) string {
	recs, res, err := readData(raw, opts)
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\t%s\n", r)
	}
	fmt.Fprintf(&b, "\tsize=%d bare_newline=%v", res.Size, res.BareNewline)
	if err != nil {
		fmt.Fprintf(&b, " error=%q", err.Error())
	}
	return b.String() + "\n"
}

// TestDataGolden reads each content of testdata/data.in with
// line_length_limit 512, under "normalize" and under "reject".
func TestDataGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, in := range goldenLines(t, "testdata/data.in") {
		fmt.Fprintf(&b, "%s\n", strconv.Quote(in))
		b.WriteString(describeData(in, Options{LineLimit: 512, BareNewline: "normalize"}))
		fmt.Fprintf(&b, "  reject:\n")
		b.WriteString(describeData(in, Options{LineLimit: 512, BareNewline: "reject", Hostname: "mx.example.test"}))
	}
	compareGolden(t, "testdata/data.golden", b.String())
}

// bodyRecords returns the content records after the first empty line.
func bodyRecords(recs []rec) []rec {
	for i, r := range recs {
		if r.typ == record.Norm && r.data == "" && (i == 0 || recs[i-1].typ == record.Norm) {
			return recs[i+1:]
		}
	}
	return nil
}

// TestDataReference sends each content of testdata/data.in to Debian's
// smtpd 3.7 (line_length_limit 512, smtpd_forbid_bare_newline normalize,
// messages put on hold) and compares the body records of the queue file
// it makes with what ReadData gives.
func TestDataReference(t *testing.T) {
	t.Parallel()
	s, addr := startReference(t, `smtpd_error_sleep_time = 0
line_length_limit = 512
smtpd_forbid_bare_newline = normalize
smtpd_forbid_bare_newline_exclusions =
smtpd_sender_restrictions = check_sender_access inline:{a@x.test=HOLD}
`)
	inputs := goldenLines(t, "testdata/data.in")
	var wg sync.WaitGroup
	for _, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies, err := sendMessage(addr, in)
			if err != nil {
				t.Errorf("%s: %v", short(in), err)
				return
			}
			last := ""
			if len(replies) > 0 {
				last = replies[len(replies)-1]
			}
			id, ok := strings.CutPrefix(last, "250 2.0.0 Ok: queued as ")
			if !ok {
				t.Errorf("%s: Postfix replied %q", short(in), replies)
				return
			}
			theirs, err := heldContent(filepath.Join(s.Queue, "hold", id))
			if err != nil {
				t.Errorf("%s: %v", short(in), err)
				return
			}
			ours, _, err := readData(in, Options{LineLimit: 512, BareNewline: "normalize"})
			if err != nil {
				t.Errorf("%s: ReadData: %v", short(in), err)
				return
			}
			// Postfix's cleanup, not smtpd, turns a bare <CR> in the
			// body into a space; model that for the comparison.
			for i := range ours {
				ours[i].data = strings.ReplaceAll(ours[i].data, "\r", " ")
			}
			got, want := fmt.Sprint(bodyRecords(ours)), fmt.Sprint(bodyRecords(theirs))
			if got != want {
				t.Errorf("%s:\nPostfix: %s\nours:    %s", short(in), want, got)
			}
		}()
	}
	wg.Wait()
}

// sendMessage sends one message with the raw content and returns every
// reply line after DATA's 354 up to QUIT's.
// short abbreviates a test input for messages.
func short(s string) string {
	if len(s) > 80 {
		s = s[:40] + "..." + s[len(s)-30:]
	}
	return strconv.Quote(s)
}

func sendMessage(addr, raw string) ([]string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	reply := func() (string, error) {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return "", err
			}
			l = strings.TrimRight(l, "\r\n")
			if len(l) < 4 || l[3] != '-' {
				return l, nil
			}
		}
	}
	if _, err := reply(); err != nil {
		return nil, err
	}
	for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<root@mx.example.test>", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		r, err := reply()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(r, "2") && !strings.HasPrefix(r, "3") {
			return nil, fmt.Errorf("%s: %s", cmd, r)
		}
	}
	if _, err := io.WriteString(c, raw+"QUIT\r\n"); err != nil {
		return nil, err
	}
	var out []string
	for {
		r, err := reply()
		if err != nil {
			return out, nil
		}
		out = append(out, r)
		if strings.HasPrefix(r, "221") {
			return out[:len(out)-1], nil
		}
	}
}

// heldContent reads the content records of a queue file.
func heldContent(path string) ([]rec, error) {
	var b []byte
	var err error
	for i := 0; i < 100; i++ {
		if b, err = os.ReadFile(path); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	rr := record.NewReader(bytes.NewReader(b), 1<<20)
	var out []rec
	inContent := false
	for {
		t, data, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch {
		case t == record.Mesg:
			inContent = true
		case t == record.Xtra:
			return out, nil
		case inContent && (t == record.Norm || t == record.Cont):
			out = append(out, rec{t, string(data)})
		}
	}
}
