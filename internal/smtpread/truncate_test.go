package smtpread

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// truncateCases are command lines around line_length_limit (2048), each
// marked within its first 30 bytes, with the line ends and NUL bytes
// that move the limit.
func truncateCases() []string {
	var out []string
	for _, end := range []string{"\r\n", "\n", "\r\r\n"} {
		for n := 2044; n <= 2050; n++ {
			head := fmt.Sprintf("NOOP T%d-%d ", len(out), n)
			out = append(out, head+strings.Repeat("x", n-len(head))+end)
		}
	}
	// A NUL before the limit shortens the line Postfix logs, not the
	// length it reads.
	for _, n := range []int{2047, 2048, 2049} {
		head := fmt.Sprintf("NOOP T%d-%d\x00", len(out), n)
		out = append(out, head+strings.Repeat("x", n-len(head))+"\r\n")
	}
	return out
}

// TestTruncatedReference sends lines around line_length_limit to
// Debian's smtpd and checks that Truncated is true exactly for the lines
// it logs "request longer than 2048" for.
func TestTruncatedReference(t *testing.T) {
	t.Parallel()
	sys, addr := startReference(t, "smtpd_error_sleep_time = 0\nsmtpd_hard_error_limit = 1000\n")
	cases := truncateCases()
	var want []string
	for _, c := range cases {
		r := NewReader(bufio.NewReader(strings.NewReader(c)), Options{})
		line, err := r.ReadCommand()
		if err != nil {
			t.Fatalf("%.20q: %v", c, err)
		}
		if r.Truncated() {
			want = append(want, fmt.Sprintf("warning: localhost[127.0.0.1]: request longer than 2048: %.30s...", line))
		}
	}
	if len(want) == 0 || len(want) == len(cases) {
		t.Fatalf("cases do not straddle the limit: %d of %d truncated", len(want), len(cases))
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	for _, line := range cases {
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if r, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(r, "250 ") {
			t.Fatalf("%.20q: reply %q, %v", line, r, err)
		}
	}
	fmt.Fprintf(c, "QUIT\r\n")
	_, _ = br.ReadString('\n')
	var got []string
	for try := 0; try < 50; try++ {
		got = got[:0]
		for _, l := range strings.Split(sys.LogText(), "\n") {
			if _, w, ok := strings.Cut(l, "]: "); ok && strings.Contains(w, "request longer than") {
				got = append(got, w)
			}
		}
		if len(got) >= len(want) && strings.Contains(sys.LogText(), "disconnect from") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("request longer than warnings differ:\nPostfix: %q\nours:    %q", got, want)
	}
}
