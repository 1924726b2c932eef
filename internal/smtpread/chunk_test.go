package smtpread

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
)

// chunkCases reads testdata/bdat.in: per line, the Go-quoted chunks.
func chunkCases(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	b := readFile(t, "testdata/bdat.in")
	for _, l := range strings.Split(strings.TrimSuffix(b, "\n"), "\n") {
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		var chunks []string
		for l = strings.TrimSpace(l); l != ""; l = strings.TrimSpace(l) {
			q, err := strconv.QuotedPrefix(l)
			if err != nil {
				t.Fatalf("bdat.in: %v: %s", err, l)
			}
			u, _ := strconv.Unquote(q)
			chunks = append(chunks, u)
			l = l[len(q):]
		}
		out = append(out, chunks)
	}
	return out
}

// readChunks feeds the chunks to ReadChunk over one stream.
func readChunks(chunks []string, opts Options) ([]rec, []DataResult, []error) {
	in := strings.Join(chunks, "")
	r := NewReader(bufio.NewReader(strings.NewReader(in)), opts)
	var recs []rec
	var results []DataResult
	var errs []error
	for i, c := range chunks {
		res, err := r.ReadChunk(int64(len(c)), i == len(chunks)-1, func(line []byte, partial bool) error {
			t := record.Norm
			if partial {
				t = record.Cont
			}
			recs = append(recs, rec{t, string(line)})
			return nil
		})
		results = append(results, res)
		errs = append(errs, err)
	}
	return recs, results, errs
}

func TestChunkGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, chunks := range chunkCases(t) {
		var qs []string
		for _, c := range chunks {
			qs = append(qs, short(c))
		}
		fmt.Fprintf(&b, "%s\n", strings.Join(qs, " "))
		for _, mode := range []string{"normalize", "reject"} {
			recs, results, errs := readChunks(chunks, Options{LineLimit: 512, BareNewline: mode, Hostname: "mx.example.test"})
			fmt.Fprintf(&b, "  %s:\n", mode)
			for _, r := range recs {
				fmt.Fprintf(&b, "\t%s\n", r)
			}
			for i := range results {
				fmt.Fprintf(&b, "\tchunk %d: size=%d lines=%d bare_newline=%v", i, results[i].Size, results[i].Lines, results[i].BareNewline)
				if errs[i] != nil {
					fmt.Fprintf(&b, " error=%q", errs[i].Error())
				}
				b.WriteString("\n")
			}
		}
	}
	compareGolden(t, "testdata/bdat.golden", b.String())
}

// TestChunkReference sends each message of testdata/bdat.in to Debian's
// smtpd 3.7 with BDAT (line_length_limit 512, normalize, on hold) and
// compares the body records of its queue file with ReadChunk's.
func TestChunkReference(t *testing.T) {
	t.Parallel()
	s, addr := startReference(t, `smtpd_error_sleep_time = 0
line_length_limit = 512
smtpd_forbid_bare_newline = normalize
smtpd_forbid_bare_newline_exclusions =
smtpd_sender_restrictions = check_sender_access inline:{a@x.test=HOLD}
`)
	var wg sync.WaitGroup
	for _, chunks := range chunkCases(t) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := short(strings.Join(chunks, "|"))
			id, size, err := sendChunks(addr, chunks)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			theirs, err := heldContent(filepath.Join(s.Queue, "hold", id))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			ours, results, _ := readChunks(chunks, Options{LineLimit: 512, BareNewline: "normalize"})
			var total int64
			for _, r := range results {
				total += r.Size
			}
			if total != size {
				t.Errorf("%s: Postfix counted %d bytes, ReadChunk %d", name, size, total)
			}
			for i := range ours {
				ours[i].data = strings.ReplaceAll(ours[i].data, "\r", " ") // cleanup's doing
			}
			if got, want := fmt.Sprint(bodyRecords(ours)), fmt.Sprint(bodyRecords(theirs)); got != want {
				t.Errorf("%s:\nPostfix: %s\nours:    %s", name, want, got)
			}
		}()
	}
	wg.Wait()
}

// sendChunks sends one message with BDAT and returns its queue ID and
// the size smtpd reports ("250 2.0.0 Ok: N bytes queued as ID").
func sendChunks(addr string, chunks []string) (id string, size int64, err error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", 0, err
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
		return "", 0, err
	}
	for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<a@x.test>", "RCPT TO:<root@mx.example.test>"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if r, err := reply(); err != nil || !strings.HasPrefix(r, "2") {
			return "", 0, fmt.Errorf("%s: %s %v", cmd, r, err)
		}
	}
	var last string
	for i, ch := range chunks {
		cmd := fmt.Sprintf("BDAT %d", len(ch))
		if i == len(chunks)-1 {
			cmd += " LAST"
		}
		if _, err := io.WriteString(c, cmd+"\r\n"+ch); err != nil {
			return "", 0, err
		}
		if last, err = reply(); err != nil {
			return "", 0, err
		}
		if !strings.HasPrefix(last, "250") {
			return "", 0, fmt.Errorf("%s: %s", cmd, last)
		}
	}
	if _, err := fmt.Sscanf(last, "250 2.0.0 Ok: %d bytes queued as %s", &size, &id); err != nil {
		return "", 0, fmt.Errorf("last BDAT: %s", last)
	}
	return id, size, nil
}
