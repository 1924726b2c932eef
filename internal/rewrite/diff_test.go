package rewrite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// diffAddrs are the addresses every configuration is tried with, sent as
// they are both as rewrite input (external form) and resolve input
// (internal form).
var diffAddrs = []string{
	"", "user", "user@", "@", "@@", "user@host", "user@host.", "user@host..", "user@.",
	"user@host.example.com", "user@HOST.Example.COM.", "user@localhost", "user@localhost.example.com",
	"user@example.com", "user@example.org", "User@Remote.Example.NET", "user@remote.example.net",
	"user@[127.0.0.1]", "user@[127.0.0.2]", "user@[192.0.2.1]", "user@[192.0.2.5]", "user@[IPv6:::1]",
	"user@[1.2.3]", "user@[foo]", "user@[127.0.0.1]x", "user@127.0.0.1", "user@1.2.3.4", "user@192.0.2.1",
	"user@-bad.example", "user@bad-.example", "user@b_d.example", "user@a..b", "user@123",
	"@a,@b:user@c.example", "@a:user", "@host.example.com:user@remote.example.net",
	"host!user", "a!b!user", "!user", "user!", "remote.example.net!user@host.example.com",
	"user%remote.example.net", "user%remote%other", "user%host.example.com@host.example.com",
	"user@remote.example.net@host.example.com", "user@remote.example.net@localhost",
	"\"user@remote.example.net\"@host.example.com", "\"user%remote.example.net\"@host.example.com",
	"\"host!user\"@host.example.com", "\"a b\"@x.example", "a b@x.example", "\"a b\"",
	"\"\"@host.example.com", "\"\"", "\"\"@remote.example.net", "-user@host.example.com", "-user",
	"MAILER-DAEMON", "postmaster", "user+ext@remote.example.net", "user+ext@host.example.com",
	"user-ext@remote.example.net", "owner-list@remote.example.net",
	"foo@alias.example", "foo@mailbox.example", "foo@both.example", "foo@relay.example",
	"foo@sub.relay.example", "foo@sub.parent.example", "foo@parent.example",
	"foo@transport.example", "foo@sub.transport.example", "foo@error.example", "foo@err2.example",
	"foo@colon.example", "foo@dest.example", "foo@fromfile.example", "moved@host.example.com",
	"user.@x.example", ".user@x.example", "us..er@x.example", "user(comment)@x.example", "<user@x.example>",
	"user@x.example (Comment)", "a@b@c", "user@x.y.z.", "jöe@exämple.com", "user @ x .example",
	"\\\"quoted\\\"@x.example", "bad\xff@x.example", "u@b\xfcd.example", "u@b\xc3\xbcd.example", "x\\@y@z.example", "user@[]", "user@[IPv6:2001:db8::1]",
	"user@sub.host.example.com", "user@HOST", "user;x@y.example", "a,b@c.example", "user:x@y.example",
}

var diffSenders = []string{"", "sender@example.org", "dunno@example.org", "x@elsewhere.example"}

// option is one main.cf parameter and the values the generator picks from
// ("" leaves the parameter out).
type option struct {
	name   string
	values []string
}

var diffOptions = []option{
	{"myorigin", []string{"", "$mydomain", "example.org"}},
	{"append_dot_mydomain", []string{"yes", "no"}},
	{"append_at_myorigin", []string{"", "no"}},
	{"swap_bangpath", []string{"", "no"}},
	{"allow_percent_hack", []string{"", "no"}},
	{"resolve_dequoted_address", []string{"", "no"}},
	{"resolve_null_domain", []string{"", "yes"}},
	{"resolve_numeric_domain", []string{"", "yes"}},
	{"remote_header_rewrite_domain", []string{"", "domain.invalid", "remote.example"}},
	{"mydestination", []string{"", "$myhostname, localhost.$mydomain, localhost, example.com",
		"$myhostname inline:{dest.example=x} @ETC@/dests", "!localhost, $myhostname"}},
	{"relayhost", []string{"", "[relay.example.net]:587", "relay.example.net"}},
	{"relay_domains", []string{"", "relay.example", "relay.example, .parent.example", "relay.example parent.example"}},
	{"parent_domain_matches_subdomains", []string{"", "smtpd_access_maps"}},
	{"virtual_alias_domains", []string{"", "alias.example", "inline:{alias.example=x, both.example=y}"}},
	{"virtual_mailbox_domains", []string{"", "mailbox.example", "mailbox.example both.example"}},
	{"transport_maps", []string{"", "texthash:@ETC@/transport", "texthash:@ETC@/transport texthash:@ETC@/wild",
		"regexp:@ETC@/transport.re texthash:@ETC@/transport"}},
	{"default_transport", []string{"", "relay:[default.example]", "smtp:"}},
	{"local_transport", []string{"", "local", "lmtp:unix:/run/lmtp"}},
	{"relay_transport", []string{"", "smtp:[relay2.example]"}},
	{"virtual_transport", []string{"", "lmtp:[v.example]"}},
	{"sender_dependent_relayhost_maps", []string{"", "inline:{sender@example.org=[sdr.example], @example.org=[sdr2.example], <>=[null.example], dunno@example.org=DUNNO}"}},
	{"sender_dependent_default_transport_maps", []string{"", "inline:{sender@example.org=sdt:, <>=nulltr:[x.example], dunno@example.org=DUNNO}"}},
	{"show_user_unknown_table_name", []string{"", "no"}},
	{"helpful_warnings", []string{"", "no"}},
	// Tables that cannot be opened: requests that need them fail.
	{"virtual_mailbox_domains", []string{"", "", "", "texthash:@ETC@/missing"}},
	{"sender_dependent_default_transport_maps", []string{"", "", "", "texthash:@ETC@/missing"}},
	{"transport_maps", []string{"", "", "", "texthash:@ETC@/transport texthash:@ETC@/missing"}},
	{"relocated_maps", []string{"", "inline:{moved@host.example.com=new@where.example, @remote.example.net=somewhere}"}},
	{"proxy_interfaces", []string{"", "192.0.2.1", "192.0.2.1, [192.0.2.5]"}},
	{"inet_interfaces", []string{"", "127.0.0.1"}},
	{"empty_address_recipient", []string{"", "postmaster"}},
	{"recipient_delimiter", []string{"", "+", "+-"}},
	{"allow_min_user", []string{"", "yes"}},
	{"smtputf8_enable", []string{"", "no"}},
	{"inet_interfaces", []string{"", "", "all"}},
	{"inet_protocols", []string{"", "", "all"}},
	{"relay_domains", []string{"", "", "", "inline:{parent.example=x}", "@ETC@/dests"}},
	{"mydestination", []string{"", "", "", "", "$myhostname texthash:@ETC@/missing"}},
	{"relay_transport", []string{"", "", "", ":[x.example]"}},
	{"address_verify_transport_maps", []string{"", "", "inline:{remote.example.net=vt:[vt.example]}"}},
	{"address_verify_sender_dependent_relayhost_maps", []string{"", "", "inline:{sender@example.org=[vsdr.example]}"}},
	{"empty_address_relayhost_maps_lookup_key", []string{"", "", "<null>"}},
	{"virtual_alias_domains", []string{"", "", "", "@ETC@/dests"}},
	{"transport_maps", []string{"", "", "", "pcre:@ETC@/transport.re inline:{*=:[starhop.example]}"}},
	{"address_verify_default_transport", []string{"", "vrfy:"}},
	{"address_verify_relayhost", []string{"", "[vrelay.example]"}},
}

// diffFiles are the tables the options refer to.
var diffFiles = map[string]string{
	"dests": "# local domains\nfromfile.example\n\nother.example, third.example\n",
	"transport": "transport.example smtp:[mx.example]:25\n" +
		".transport.example relay:\n" +
		"user+ext@remote.example.net local:\n" +
		"user@remote.example.net :[special.example]\n" +
		"error.example error:5.7.1 no mail here\n" +
		"err2.example error:\n" +
		"colon.example :\n" +
		"parent.example smtp\n" +
		"localhost local:other\n",
	"wild":         "* smtp:[wild.example]\n",
	"transport.re": "/^owner-list@/ discard:\n/^foo@sub\\./ retry:4.0.0 later\n",
}

// diffConfigs returns the generated main.cf fragments: the defaults, one
// configuration per option value (each alone), then random combinations.
func diffConfigs(n int) []string {
	out := []string{""}
	for _, o := range diffOptions {
		for _, v := range o.values {
			if v != "" {
				out = append(out, o.name+" = "+v+"\n")
			}
		}
	}
	rng := rand.New(rand.NewPCG(4, 2))
	for i := 0; i < n; i++ {
		var names []string
		picked := map[string]string{}
		for _, o := range diffOptions {
			if v := o.values[rng.IntN(len(o.values))]; v != "" {
				if _, dup := picked[o.name]; !dup {
					names = append(names, o.name)
				}
				picked[o.name] = v
			}
		}
		var b strings.Builder
		for _, n := range names {
			b.WriteString(n + " = " + picked[n] + "\n")
		}
		out = append(out, b.String())
	}
	return out
}

// exchange is one request with the raw reply bytes and decoded result.
type exchange struct {
	what string
	raw  []byte
	res  string
}

func runRequests(cl *Client, rc *recConn) []exchange {
	var out []exchange
	do := func(what string, f func() (string, error)) {
		rc.got.Reset()
		s, err := f()
		if err != nil {
			s = "error: " + err.Error()
		}
		out = append(out, exchange{what: what, raw: bytes.Clone(rc.got.Bytes()), res: s})
	}
	for _, a := range diffAddrs {
		for _, rule := range []string{RuleLocal, RuleRemote} {
			do(fmt.Sprintf("rewrite %s %q", rule, a), func() (string, error) {
				return cl.RewriteExternal(rule, a)
			})
		}
		for i, snd := range diffSenders {
			do(fmt.Sprintf("resolve %q %q", snd, a), func() (string, error) {
				r, err := cl.Resolve(snd, a)
				return fmt.Sprintf("%+v", r), err
			})
			if i == 1 {
				do(fmt.Sprintf("verify %q %q", snd, a), func() (string, error) {
					r, err := cl.Verify(snd, a)
					return fmt.Sprintf("%+v", r), err
				})
			}
		}
	}
	return out
}

// TestDifferential sends the same rewrite, resolve and verify requests to
// Debian's trivial-rewrite and to ours, each started with the same main.cf
// and tables, over many configurations, and compares the replies byte for
// byte.
func TestDifferential(t *testing.T) {
	needReference(t)
	configs := diffConfigs(50)
	for i, extra := range configs {
		t.Run(fmt.Sprintf("config%02d", i), func(t *testing.T) {
			t.Parallel()
			s := newSysDir(t, extra, diffFiles)
			refSock := startReference(t, s)
			ourSock, warns := startOurs(t, s)
			refCl, refRC := rawClient(t, refSock)
			ourCl, ourRC := rawClient(t, ourSock)
			ref := runRequests(refCl, refRC)
			ours := runRequests(ourCl, ourRC)
			bad := 0
			for j := range ref {
				if ref[j].res == ours[j].res && bytes.Equal(ref[j].raw, ours[j].raw) {
					continue
				}
				if bad++; bad <= 10 {
					t.Errorf("%s\n  postfix: %s\n  ours:    %s\n  postfix bytes %q\n  our bytes     %q",
						ref[j].what, ref[j].res, ours[j].res, ref[j].raw, ours[j].raw)
				}
			}
			if bad > 0 {
				t.Logf("main.cf additions:\n%s\n%d of %d exchanges differ; our warnings:\n%s", extra, bad, len(ref), warns.text())
			}
		})
	}
}

// corpusAddrs reads the string inputs of the committed fuzz corpus.
func corpusAddrs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/fuzz/FuzzEngine/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if q, ok := strings.CutPrefix(line, "string("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(q, ")")); err == nil && !strings.ContainsRune(s, 0) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// TestDifferentialCorpus runs the fuzz corpus (odd inputs the fuzzer found
// interesting) through both daemons with every feature on.
func TestDifferentialCorpus(t *testing.T) {
	needReference(t)
	t.Parallel()
	cf, err := os.ReadFile("testdata/classes.cf")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]string{}
	for _, n := range []string{"transport", "wild", "dests"} {
		b, err := os.ReadFile("testdata/tables/" + n)
		if err != nil {
			t.Fatal(err)
		}
		tables[n] = string(b)
	}
	s := newSysDir(t, string(cf)+"swap_bangpath = yes\nallow_percent_hack = yes\nresolve_numeric_domain = yes\n"+
		"append_dot_mydomain = yes\nremote_header_rewrite_domain = remote.example\n", tables)
	refCl, refRC := rawClient(t, startReference(t, s))
	ourSock, _ := startOurs(t, s)
	ourCl, ourRC := rawClient(t, ourSock)
	saved := diffAddrs
	var addrs []string
	for _, a := range corpusAddrs(t) {
		// White space alone makes Postfix's rewrite code panic (see
		// doc/DIFFERENCES.md); ours returns it unchanged.
		if a == "" || strings.Trim(a, " \t\r\n") != "" {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		t.Fatal("empty corpus")
	}
	bad := 0
	for _, a := range addrs {
		diffAddrs = []string{a}
		ref, ours := runRequests(refCl, refRC), runRequests(ourCl, ourRC)
		for j := range ref {
			if ref[j].res != ours[j].res || !bytes.Equal(ref[j].raw, ours[j].raw) {
				if bad++; bad <= 10 {
					t.Errorf("%s\n  postfix: %s\n  ours:    %s", ref[j].what, ref[j].res, ours[j].res)
				}
			}
		}
	}
	diffAddrs = saved
}
