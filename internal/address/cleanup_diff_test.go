package address_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/internal/submit/oracle"
)

// headerCases are address headers as a local submission would carry them;
// each is one or more physical lines.
var headerCases = [][]string{
	{"To: user"},
	{"To: user@example.com"},
	{"To: a, b, c@d.example"},
	{"From: Alice Example <alice>"},
	{"From: \"Example, Alice\" <alice>, bob@x.example"},
	{"Cc: one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve"},
	{"Cc: a-rather-long-name@a-rather-long-domain.example, another-long-one, short"},
	{"To: undisclosed-recipients:;"},
	{"To: friends: a, b@c.example;, d"},
	{"To: \"a b\"@host, c (comment) , <d>"},
	{"To: a.\"b c\"@d.example"},
	{"To: John Smith user"},
	{"To: @r1,@r2:user@x.example, host!user, user%site"},
	{"To: user@[192.0.2.1], user@host."},
	{"To: folded,", "\tacross,", " lines"},
	{"To: unchanged@x.example,", "\talso@unchanged.example"},
	{"To:nospace"},
	{"To: <>, \"\", @"},
	{"Reply-To: r"},
	{"Resent-To: rt, rt2"},
	{"To: x\\@y, \"q\\\"uote\""},
	{"To: Müller <müller>, jöe@exämple.com"},
	{"To: a@b (c (nested) comment), d (e)"},
	{"To: <a@b> <c>"},
	{"To: a@b,,c, ,d"},
	{"From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"},
	{"To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe>;"},
	{"Cc: " + strings.Repeat("x", 80) + ", y"},
	{"To: \"unterminated"},
	{"To: (unterminated comment"},
	{"To: [1.2.3.4], user@[1.2.3.4"},
}

// TestHeadersAgainstCleanup submits messages with address headers to
// Debian's cleanup (with Debian's trivial-rewrite) and checks that
// HeaderList, rewriting through our Engine with the same main.cf,
// produces the same header lines byte for byte, folding included.
func TestHeadersAgainstCleanup(t *testing.T) {
	t.Run("default", func(t *testing.T) { headersAgainstCleanup(t, "") })
	t.Run("tokenlimit", func(t *testing.T) { headersAgainstCleanup(t, "header_address_token_limit = 7\n") })
	t.Run("dotmydomain", func(t *testing.T) {
		headersAgainstCleanup(t, "append_dot_mydomain = yes\nswap_bangpath = no\nmyorigin = $mydomain\n")
	})
}

func headersAgainstCleanup(t *testing.T, extra string) {
	t.Parallel()
	s := oracle.New(t, extra, nil)
	s.Start(t, "")
	c, err := conf.Load(s.Etc)
	if err != nil {
		t.Fatal(err)
	}
	engine := rewrite.NewEngine(c, func(string, ...any) {})
	defer func() {
		if t.Failed() {
			t.Logf("cleanup logs:\n%s", strings.Join(s.Logs(), "\n"))
		}
	}()
	for _, hc := range headerCases {
		got := submitHeader(t, c, s.Queue, hc)
		name, value, _ := strings.Cut(strings.Join(hc, "\n"), ":")
		h := address.ParseHeader(value, c.Int("header_address_token_limit"))
		h.RewriteExternal(func(ext string) string {
			out, _ := engine.RewriteExternal(rewrite.RuleLocal, ext)
			return out
		})
		want := name + ":" + value
		if h.Changed() {
			want = h.Header(name)
		}
		if got != want {
			t.Errorf("header %q:\n cleanup: %q\n ours:    %q", hc, got, want)
		}
	}
}

// submitHeader sends one local message carrying header lines hc through
// the cleanup at queueDir and returns that header as cleanup stored it
// (physical lines joined with "\n").
func submitHeader(t *testing.T, c *conf.Config, queueDir string, hc []string) string {
	t.Helper()
	st, err := submit.Open(c, submit.FlagMaskExternal)
	if err != nil {
		t.Fatal(err)
	}
	st.PutString(record.Time, "1700000000 123456")
	st.PutAttr("rewrite_context", "local")
	st.PutString(record.From, "alice")
	st.PutString(record.Rcpt, "bob@example.com")
	st.Put(record.Mesg, nil)
	for _, l := range append(append([]string{"Received: by test", "Subject: test"}, hc...), "", "body") {
		st.PutString(record.Norm, l)
	}
	st.Put(record.Xtra, nil)
	st.Put(record.End, nil)
	status, reason, err := st.Close()
	if err != nil || status != 0 {
		t.Fatalf("cleanup: status %d %q %v", status, reason, err)
	}
	b, err := os.ReadFile(filepath.Join(queueDir, "incoming", st.QueueID()))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := queue.Decode(bytes.NewReader(b), 0)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.ToLower(hc[0][:strings.IndexByte(hc[0], ':')+1])
	var out []string
	for _, l := range strings.Split(string(m.Content), "\n") {
		if l == "" {
			break
		}
		if len(out) > 0 && (l[0] == ' ' || l[0] == '\t') {
			out = append(out, l)
			continue
		}
		if len(out) > 0 {
			break
		}
		if strings.HasPrefix(strings.ToLower(l), name) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
