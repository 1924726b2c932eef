package dnsbl

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
	"github.com/postfix-go/postfix/internal/resolver"
	"github.com/postfix-go/postfix/internal/testutil"
	"github.com/postfix-go/postfix/maptypes"
)

// refCase is one dialogue with Debian's smtpd: a client address, a
// restriction in smtpd_recipient_restrictions followed by permit, and
// extra -o settings.
type refCase struct {
	name   string
	src    string // client address
	kind   string // the restriction name
	spec   string // its list reference
	helo   string
	sender string
	code   int // maps_rbl_reject_code
}

var refZone = []string{
	"2.0.0.127.zen.test. A 127.0.0.2",
	`2.0.0.127.zen.test. TXT "Listed, see https://zen.test/query/ip/127.0.0.2"`,
	"3.0.0.127.zen.test. A 127.0.0.4",
	"3.0.0.127.zen.test. A 127.0.0.10",
	`3.0.0.127.zen.test. TXT "first reason"`,
	`3.0.0.127.zen.test. TXT "second" " reason" "joined"`,
	"4.0.0.127.zen.test. A 127.0.1.2", // no TXT
	"8.0.0.127.zen.test. A 127.0.0.4", // no TXT
	"6.0.0.127.zen.test. A 127.0.0.2",
	"6.0.0.127.zen.test. TXT \"bad\\009char \\195\\169t\\195\\169 <>$x\"",
	"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.zen.test. A 127.0.0.3",
	`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.zen.test. TXT "v6 listed"`,
	// client names
	"3.0.0.127.in-addr.arpa. PTR good.test.",
	"good.test. A 127.0.0.3",
	"4.0.0.127.in-addr.arpa. PTR forged.test.",
	"forged.test. A 127.0.0.99",
	// right-hand-side lists
	"good.test.dbl.test. A 127.0.1.2",
	`good.test.dbl.test. TXT "client name listed"`,
	"forged.test.dbl.test. A 127.0.1.3",
	"spam.example.dbl.test. A 127.0.1.4",
	`spam.example.dbl.test. TXT "sender domain listed"`,
	"bad.helo.dbl.test. A 127.0.1.5",
	"mx.example.test.dbl.test. A 127.0.1.6",
}

var refCases = []refCase{
	{name: "listed", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test"},
	{name: "filter-hit", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test=127.0.0.2"},
	{name: "filter-miss", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test=127.0.0.3"},
	{name: "range", src: "127.0.0.3", kind: "reject_rbl_client", spec: "zen.test=127.0.0.[2..11]"},
	{name: "list", src: "127.0.0.3", kind: "reject_rbl_client", spec: "zen.test=127.0.0.[3;10]"},
	{name: "list-miss", src: "127.0.0.3", kind: "reject_rbl_client", spec: "zen.test=127.0.[1;2].[4..10]"},
	{name: "bracketed", src: "127.0.0.4", kind: "reject_rbl_client", spec: "zen.test=[127.0.1.2]"},
	{name: "no-txt", src: "127.0.0.4", kind: "reject_rbl_client", spec: "zen.test"},
	{name: "not-listed", src: "127.0.0.5", kind: "reject_rbl_client", spec: "zen.test"},
	{name: "filtered-txt", src: "127.0.0.6", kind: "reject_rbl_client", spec: "zen.test"},
	{name: "servfail", src: "127.0.0.7", kind: "reject_rbl_client", spec: "fail.test"},
	{name: "ipv6", src: "::1", kind: "reject_rbl_client", spec: "zen.test"},
	{name: "code", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test", code: 550},
	{name: "map", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test=127.0.0.[1..3]"},
	{name: "map-vars", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test=127.0.[0..1].2"},
	{name: "map-noreason", src: "127.0.0.8", kind: "reject_rbl_client", spec: "zen.test=127.0.0.[3..4]"},
	{name: "map-dsn", src: "127.0.0.3", kind: "reject_rbl_client", spec: "zen.test=127.0.0.4"},
	{name: "map-badcode", src: "127.0.0.4", kind: "reject_rbl_client", spec: "zen.test=127.0.1.2"},
	{name: "map-syntax", src: "127.0.0.6", kind: "reject_rbl_client", spec: "zen.test=127.0.0.[2]"},
	{name: "rhsbl-client", src: "127.0.0.3", kind: "reject_rhsbl_client", spec: "dbl.test"},
	{name: "rhsbl-client-forged", src: "127.0.0.4", kind: "reject_rhsbl_client", spec: "dbl.test"},
	{name: "rhsbl-reverse", src: "127.0.0.4", kind: "reject_rhsbl_reverse_client", spec: "dbl.test"},
	{name: "rhsbl-sender", src: "127.0.0.5", kind: "reject_rhsbl_sender", spec: "dbl.test", sender: "someone@spam.example"},
	{name: "rhsbl-sender-filter", src: "127.0.0.5", kind: "reject_rhsbl_sender", spec: "dbl.test=127.0.1.[1..3]", sender: "someone@spam.example"},
	{name: "rhsbl-helo", src: "127.0.0.5", kind: "reject_rhsbl_helo", spec: "dbl.test", helo: "bad.helo"},
	{name: "rhsbl-helo-literal", src: "127.0.0.5", kind: "reject_rhsbl_helo", spec: "dbl.test", helo: "[127.0.0.5]"},
	{name: "map-sender-dsn", src: "127.0.0.5", kind: "reject_rhsbl_sender", spec: "dbl.test=127.0.1.4", sender: "someone@spam.example"},
	{name: "map-rcpt-dsn", src: "127.0.0.5", kind: "reject_rhsbl_recipient", spec: "dbl.test=127.0.1.6"},
	{name: "bad-range", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test=127.0.0.[11..2]"},
	{name: "bad-short", src: "127.0.0.2", kind: "reject_rbl_client", spec: "zen.test=127.0.0"},
	{name: "rhsbl-recipient", src: "127.0.0.5", kind: "reject_rhsbl_recipient", spec: "dbl.test"},
}

// refReplyMap is rbl_reply_maps (texthash) for the map cases.
const refReplyMap = `zen.test=127.0.0.[1..3] 553 $rbl_class $rbl_what ($client_name, $client_address, $reverse_client_name) helo=$helo_name from=$sender/$sender_name/$sender_domain to=$recipient/$recipient_name/$recipient_domain via $rbl_domain${rbl_reason?{: $rbl_reason}:{ (no reason)}} code $rbl_code $unknown_name $client end
zen.test=127.0.[0..1].2 553 $rbl_class $rbl_what ($client_name, $client_address, $reverse_client_name) helo=$helo_name from=$sender/$sender_name/$sender_domain to=$recipient/$recipient_name/$recipient_domain via $rbl_domain${rbl_reason?{: $rbl_reason}:{ (no reason)}} code $rbl_code $client $server_name end
zen.test=127.0.0.[3..4] 554 5.1.1 ${rbl_reason:{no reason}} $(rbl_what) ${rbl_reason?x}
dbl.test=127.0.1.4 550 5.1.1 sender $rbl_what
dbl.test=127.0.1.6 450 5.1.7 recipient $rbl_what
zen.test=127.0.0.4 451 4.7.9 ${rbl_txt:none}${rbl_txt?[$rbl_txt]} $(rbl_what)
zen.test=127.0.1.2 bogus reply for $rbl_what
zen.test=127.0.0.[2] 554 ${rbl_reason
`

// TestRepliesLikePostfix sends the same dialogue to Debian's smtpd, one
// service per case, inside a network namespace where the C library asks
// a dnstest server, and compares the RCPT reply (and the RBL warnings)
// with what Query and Reply produce.
func TestRepliesLikePostfix(t *testing.T) {
	dns, inside := dnstest.InNamespace(t, "")
	if !inside {
		return
	}
	dns.MustAdd(t, refZone...)
	dns.Fail("7.0.0.127.fail.test")

	ref := flowtest.NewReference(t, "inet_protocols = all\nlocal_recipient_maps =\n")
	mapFile := ref.WriteFile("rbl_reply", refReplyMap)
	ports := make([]int, len(refCases))
	var master strings.Builder
	master.WriteString("proxymap unix - - n - - proxymap\n")
	for i, c := range refCases {
		ports[i] = testutil.FreePort(t)
		r := c.kind + "," + c.spec + ",permit"
		extra := ""
		if strings.HasPrefix(c.name, "map") {
			extra += " -o rbl_reply_maps=texthash:" + mapFile
		}
		if c.code != 0 {
			extra += fmt.Sprintf(" -o maps_rbl_reject_code=%d", c.code)
		}
		fmt.Fprintf(&master, "127.0.0.1:%d inet n - n - - smtpd -o smtpd_recipient_restrictions=%s%s\n", ports[i], r, extra)
		fmt.Fprintf(&master, "[::1]:%d inet n - n - - smtpd -o smtpd_recipient_restrictions=%s%s\n", ports[i], r, extra)
	}
	f, err := os.OpenFile(filepath.Join(ref.Etc, "master.cf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(master.String())
	f.Close()
	ref.Backdate()
	ref.Start()

	var warns []string
	warnf = func(format string, args ...any) { warns = append(warns, fmt.Sprintf(format, args...)) }
	infof = func(format string, args ...any) { warns = append(warns, "info: "+fmt.Sprintf(format, args...)) }
	defer func() { warnf, infof = nil, nil }()
	r := resolver.New(nil)
	replyMap, err := maptypes.Open("texthash:"+mapFile, 0)
	if err != nil {
		t.Fatal(err)
	}
	def := "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}"

	for i, c := range refCases {
		if c.helo == "" {
			c.helo = "client.example"
		}
		if c.sender == "" {
			c.sender = "sender@example.com"
		}
		rcpt := "rcpt@mx.example.test"
		src := netip.MustParseAddr(c.src)

		// Postfix.
		before := len(ref.LogText())
		got := dialogue(t, src, ports[i], c.helo, c.sender, rcpt)
		waitAfter(t, ref, before, fmt.Sprintf(`disconnect from \S+\[%s\]|fatal: RBL reply error`, regexp.QuoteMeta(c.src)))
		var gotWarns []string
		for _, l := range strings.Split(ref.LogText()[before:], "\n") {
			if i := strings.Index(l, "postfix/smtpd["); i >= 0 {
				text := l[strings.Index(l[i:], ": ")+i+2:]
				if w, ok := strings.CutPrefix(text, "warning: "); ok && !strings.Contains(w, "main.cf, line") &&
					!strings.Contains(w, "does not resolve to address") {
					gotWarns = append(gotWarns, w)
				}
				if strings.HasPrefix(text, "mapping DSN status") {
					gotWarns = append(gotWarns, "info: "+text)
				}
			}
		}

		// Ours.
		warns = nil
		name, rev, _, _ := r.ClientName(src)
		code := c.code
		if code == 0 {
			code = 554
		}
		ctx := Context{ServerName: "mx.example.test", ClientName: name, ClientAddr: src.String(),
			ReverseClientName: rev, HELO: c.helo, Sender: c.sender, HaveSender: true, Recipient: rcpt, HaveRecipient: true}
		var class, what, qname string
		ok := true
		switch c.kind {
		case "reject_rbl_client":
			class, what, qname = "Client host", src.String(), ReverseIP(src)
		case "reject_rhsbl_client":
			class, what = "Client host", name
			qname, ok = RHSName(name)
		case "reject_rhsbl_reverse_client":
			class, what = "Unverified Client host", rev
			qname, ok = RHSName(rev)
		case "reject_rhsbl_helo":
			class, what = "Helo command", c.helo
			qname, ok = RHSName(c.helo)
		case "reject_rhsbl_sender":
			class, what = "Sender address", c.sender
			qname, ok = RHSName(c.sender)
		case "reject_rhsbl_recipient":
			class, what = "Recipient address", rcpt
			qname, ok = RHSName(rcpt)
		}
		want := "250 2.1.5 Ok"
		if _, err := ParseSpec(c.spec); err != nil {
			// Postfix's smtpd dies; the client sees the connection close.
			want = "(connection closed)"
			warns = append(warns, "fatal: RBL reply error: "+err.Error())
			ok = false
			for _, l := range strings.Split(ref.LogText()[before:], "\n") {
				if j := strings.Index(l, "fatal: "); j >= 0 && strings.Contains(l, "postfix/smtpd[") {
					gotWarns = append(gotWarns, l[j:])
				}
			}
		}
		if ok {
			hit, err := Query(r, c.spec, qname)
			if err != nil && !strings.Contains(err.Error(), "try again") {
				t.Errorf("%s: Query: %v", c.name, err)
			}
			if hit != nil {
				tmpl := ""
				if strings.HasPrefix(c.name, "map") {
					tmpl, _, _ = replyMap.Lookup(c.spec)
				}
				res, err := Reply(def, tmpl, hit, Vars(ctx, hit, code, class, what), "")
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				want = res.String()
			}
		}
		if got != want {
			t.Errorf("%s: reply\nPostfix: %q\nours:    %q", c.name, got, want)
		}
		if strings.Join(gotWarns, "\n") != strings.Join(warns, "\n") {
			t.Errorf("%s: warnings\nPostfix: %q\nours:    %q", c.name, gotWarns, warns)
		}
		t.Logf("%s: %s %q", c.name, got, gotWarns)
	}
}

// dialogue runs EHLO, MAIL and RCPT from src and returns the RCPT reply.
func dialogue(t *testing.T, src netip.Addr, port int, helo, sender, rcpt string) string {
	t.Helper()
	server := fmt.Sprintf("127.0.0.1:%d", port)
	if src.Is6() {
		server = fmt.Sprintf("[::1]:%d", port)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", server)
	if err != nil {
		t.Fatalf("from %s: %v", src, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	closed := false
	read := func() string {
		var last string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				closed = true
				return "(connection closed)"
			}
			last = strings.TrimRight(l, "\r\n")
			if len(last) < 4 || last[3] != '-' {
				return last
			}
		}
	}
	read()
	for _, cmd := range []string{"EHLO " + helo, "MAIL FROM:<" + sender + ">"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if l := read(); !strings.HasPrefix(l, "250") {
			t.Fatalf("%s: %s", cmd, l)
		}
	}
	fmt.Fprintf(c, "RCPT TO:<%s>\r\n", rcpt)
	reply := read()
	if !closed {
		fmt.Fprintf(c, "QUIT\r\n")
		read()
	}
	return reply
}

// waitAfter waits until the log written after offset before has a line
// matching re.
func waitAfter(t *testing.T, ref *flowtest.System, before int, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rx.MatchString(ref.LogText()[before:]) {
			return
		}
	}
	t.Fatalf("no log line matching %q", re)
}
