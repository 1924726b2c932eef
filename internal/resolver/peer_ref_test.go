package resolver

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/testutil"
)

// TestClientNameLikePostfix connects to Debian's smtpd from several
// loopback addresses whose reverse and forward DNS differ, inside a private
// network namespace where the C library asks a dnstest server, and checks
// that ClientName gives the names Postfix logs in "connect from NAME[ADDR]"
// and the warnings it logs on the way.
func TestClientNameLikePostfix(t *testing.T) {
	dns, inside := dnstest.InNamespace(t, dnstest.DefaultHosts+"127.0.0.2 hostsonly.test\n")
	if !inside {
		return
	}
	dns.MustAdd(t,
		"3.0.0.127.in-addr.arpa. PTR good.test.",
		"good.test. A 127.0.0.3",
		"4.0.0.127.in-addr.arpa. PTR forged.test.",
		"forged.test. A 127.0.0.99",
		"7.0.0.127.in-addr.arpa. PTR tempfwd.test.",
		"8.0.0.127.in-addr.arpa. PTR nxfwd.test.",
		"9.0.0.127.in-addr.arpa. PTR 127.0.0.9.",
		"10.0.0.127.in-addr.arpa. PTR bad_-name.test.",
		"11.0.0.127.in-addr.arpa. PTR alias.test.",
		"alias.test. CNAME good2.test.",
		"good2.test. A 127.0.0.11",
		"12.0.0.127.in-addr.arpa. PTR v6only.test.",
		"v6only.test. AAAA ::1",
		"13.0.0.127.in-addr.arpa. PTR Mixed.Case.test.",
		"mixed.case.test. A 127.0.0.13",
		"14.0.0.127.in-addr.arpa. PTR first.test.",
		"14.0.0.127.in-addr.arpa. PTR second.test.",
		"first.test. A 127.0.0.14",
		"second.test. A 127.0.0.14",
		"15.0.0.127.in-addr.arpa. CNAME 15.0-24.0.0.127.in-addr.arpa.",
		"15.0-24.0.0.127.in-addr.arpa. PTR classless.test.",
		"classless.test. A 127.0.0.15",
	)
	dns.Fail("5.0.0.127.in-addr.arpa")
	dns.Fail("tempfwd.test")

	port := testutil.FreePort(t)
	ref := flowtest.NewReference(t, "inet_protocols = all\n")
	master := filepath.Join(ref.Etc, "master.cf")
	f, err := os.OpenFile(master, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "proxymap unix - - n - - proxymap\n"+
		"127.0.0.1:%d inet n - n - - smtpd\n[::1]:%d inet n - n - - smtpd\n", port, port)
	f.Close()
	ref.Backdate()
	ref.Start()

	var warns []string
	warnf = func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }
	defer func() { warnf = nil }()
	r := New(nil)

	for _, src := range []string{"127.0.0.1", "::1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
		"127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15"} {
		a := netip.MustParseAddr(src)
		server := fmt.Sprintf("127.0.0.1:%d", port)
		if a.Is6() {
			server = fmt.Sprintf("[::1]:%d", port)
		}
		before := len(ref.LogText())
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: a.AsSlice()}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", server)
		if err != nil {
			t.Fatalf("from %s: %v", src, err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatalf("from %s: banner: %v", src, err)
		}
		fmt.Fprintf(c, "QUIT\r\n")
		br.ReadString('\n') //nolint:errcheck
		c.Close()
		re := regexp.MustCompile(`postfix/smtpd\[\d+\]: disconnect from \S+\[` + regexp.QuoteMeta(src) + `\]`)
		for deadline := time.Now().Add(10 * time.Second); !re.MatchString(ref.LogText()[before:]); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("from %s: no disconnect line", src)
			}
		}
		// Postfix's lines of this session.
		var got []string
		for _, l := range strings.Split(ref.LogText()[before:], "\n") {
			if i := strings.Index(l, "postfix/smtpd["); i >= 0 {
				text := l[strings.Index(l[i:], ": ")+i+2:]
				if strings.HasPrefix(text, "connect from") ||
					strings.HasPrefix(text, "warning:") && !strings.Contains(text, "main.cf, line") {
					got = append(got, text)
				}
			}
		}
		warns = nil
		name, _, _, _ := r.ClientName(a)
		var want []string
		for _, w := range warns {
			want = append(want, "warning: "+w)
		}
		want = append(want, fmt.Sprintf("connect from %s[%s]", name, src))
		t.Logf("from %s: %q", src, got)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("from %s:\nPostfix: %q\nours:    %q", src, got, want)
		}
	}
}
