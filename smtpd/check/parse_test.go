package check

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/policy"
	"github.com/postfix-go/postfix/internal/rewrite"
)

var update = flag.Bool("update", false, "rewrite testdata/parse.out")

// fakeResolver classifies addresses without trivial-rewrite: unqualified
// addresses get @mx.example.test, which is local; everything else is
// remote.
type fakeResolver struct{}

func (fakeResolver) Rewrite(_, addr string) (string, error) {
	if addr != "" && !strings.Contains(addr, "@") {
		return addr + "@mx.example.test", nil
	}
	return addr, nil
}

func (fakeResolver) Resolve(_, addr string) (rewrite.Resolution, error) {
	r := rewrite.Resolution{Recipient: addr, Transport: "smtp"}
	switch {
	case strings.HasSuffix(addr, "@mx.example.test"):
		r.Flags, r.Transport = rewrite.ClassLocal, "local"
	case strings.Contains(addr, "fail"):
		r.Flags = rewrite.FlagFail
	default:
		r.Flags = rewrite.ClassDefault
	}
	return r, nil
}

// failPolicy is a policy service that never answers.
type failPolicy struct{}

func (failPolicy) QueryRequest(*policy.Request) (string, error) { return "", errors.New("no service") }

// TestParse checks how New parses restriction lists and classes: the
// lists it keeps, the warnings it logs and Postfix's fatal errors
// (testdata/parse.in, one "== name" block of main.cf lines per case).
func TestParse(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/parse.in")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, block := range strings.Split(string(in), "\n== ")[1:] {
		name, body, _ := strings.Cut(block, "\n")
		fmt.Fprintf(&out, "== %s\n", name)
		c, _ := testConfig(t, body, nil)
		sink := &logSink{}
		k, err := New(c, Deps{Rewrite: fakeResolver{}, Log: sink.info, Warn: sink.warn})
		for _, l := range sink.take() {
			fmt.Fprintf(&out, "L: %s\n", l)
		}
		if err != nil {
			fmt.Fprintf(&out, "fatal: %v\n", err)
			continue
		}
		for _, p := range listParams {
			if len(k.lists[p]) > 0 {
				fmt.Fprintf(&out, "%s: %s\n", p, strings.Join(k.lists[p], " | "))
			}
		}
		var names []string
		for n := range k.classes {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&out, "class %s: %s\n", n, strings.Join(k.classes[n], " | "))
		}
		k.Close()
	}
	got := out.String()
	if *update {
		if err := os.WriteFile("testdata/parse.out", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/parse.out")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("parse output differs from testdata/parse.out:\n%s", got)
	}
}

// FuzzRestrictions parses an arbitrary recipient restriction list and
// runs every stage with it: no panic, and every reply is a well-formed
// 4xx/5xx line.
func FuzzRestrictions(f *testing.F) {
	f.Add("permit_mynetworks, reject_unauth_destination", "a@example.net", "helo.example")
	f.Add("check_recipient_access inline:{ {a@example.net = REJECT x} }, reject", "a@example.net", "h")
	f.Add("warn_if_reject reject, defer_if_permit, permit, sleep 0", "root", "[1.2.3.4]")
	f.Add("{ a b }, check_policy_service, sleep, check_helo_access", "<>", "")
	f.Add("reject_non_fqdn_recipient reject_unauth_pipelining reject_multi_recipient_bounce defer_if_reject defer", "x@fail", "x_y")
	c, _ := testConfig(f, "", nil)
	f.Fuzz(func(t *testing.T, list, rcpt, helo string) {
		// A malformed $macro is a fatal main.cf error before any check runs.
		list = strings.ReplaceAll(list, "$", "")
		// Only in-memory tables: no files, no network.
		for _, w := range strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '{' || r == '}' }) {
			if i := strings.IndexByte(w, ':'); i >= 0 && w[:i] != "inline" && w[:i] != "static" {
				return
			}
		}
		c.Set("smtpd_recipient_restrictions", list+", reject")
		c.Set("smtpd_data_restrictions", list)
		c.Set("smtpd_helo_restrictions", list)
		k, err := New(c, Deps{Rewrite: fakeResolver{}, Log: func(string, ...any) {}, Warn: func(string, ...any) {}, Sleep: func(int) {},
			Policy: func(*conf.Config, string) (PolicyClient, error) { return failPolicy{}, nil }})
		if err != nil {
			return
		}
		defer k.Close()
		s := &Session{Name: "unknown", Addr: "192.0.2.1", NameStatus: 5, ReverseNameStatus: 5, ReverseName: "unknown",
			HELO: helo, Protocol: "ESMTP", Sender: "s@example.org", SenderSet: true, Recipient: rcpt, VRFYAddr: rcpt, ETRNDomain: helo}
		check := func(r *Reply) {
			if r == nil {
				return
			}
			line := r.String()
			if r.Code < 400 || r.Code > 599 || !dsnValid(r.DSN) || r.DSN[0] != line[0] || len(line) > 510 {
				t.Fatalf("bad reply %q", line)
			}
		}
		for _, st := range []string{"CONNECT", "HELO", "MAIL", "RCPT", "VRFY", "ETRN", "DATA", "END-OF-MESSAGE"} {
			s.Stage = st
			switch st {
			case "CONNECT":
				check(k.Connect(s))
			case "HELO":
				check(k.Helo(s))
			case "MAIL":
				check(k.Mail(s))
			case "RCPT":
				check(k.Rcpt(s))
			case "VRFY":
				check(k.Vrfy(s))
			case "ETRN":
				check(k.Etrn(s))
			case "DATA":
				s.RcptCount = 2
				check(k.Data(s))
			default:
				check(k.EndOfData(s))
			}
		}
	})
}
