package smtptest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/testutil"
)

// both runs fn on each system and compares the masked outputs.
func both(t *testing.T, p pair, what string, fn func(s *system) string) (ref, our string) {
	t.Helper()
	p.each(func(s *system) {
		out := fn(s)
		if s == p.ref {
			ref = out
		} else {
			our = out
		}
	})
	same(t, what, p, ref, our)
	return ref, our
}

// postconfOut runs the system's postconf and returns stdout, stderr and
// the exit status as one text.
func postconfOut(s *system, args ...string) string {
	r := s.Postconf(args...)
	return fmt.Sprintf("%s%s(exit %d)", r.Stdout, r.Stderr, r.Exit)
}

// rcptReply opens a session on the service, gives MAIL and RCPT, and
// returns the RCPT reply.
func rcptReply(t *testing.T, s *system, service, to string) string {
	k := flowtest.Dial(t, s.addr(service))
	defer k.Close()
	k.Cmd("EHLO client.example.org")
	k.Cmd("MAIL FROM:<test@test.com>")
	r := strings.Join(k.Cmd("RCPT TO:<"+to+">"), "\n")
	k.Cmd("QUIT")
	return r
}

// The second guide's administration steps: postconf shows and edits
// main.cf (postconf -e), postfix reload makes smtpd use the new
// settings, an extra smtpd service on a bare port number (the guide's
// "50000 inet n - n - - smtpd") answers after a reload, and the telnet
// greeting is Postfix's.
func TestGuideAdministration(t *testing.T) {
	t.Parallel()
	p := newPair(t, guideMain, guideMaster, cyrusSetup(t, "/nonexistent/mux"))
	p.start(t)

	both(t, p, "postconf | grep ^my", func(s *system) string {
		return postconfOut(s, "mydestination", "mydomain", "myhostname", "mynetworks", "mynetworks_style", "myorigin")
	})
	both(t, p, "postconf -a", func(s *system) string { return postconfOut(s, "-a") })
	both(t, p, "postconf | grep smtpd_sasl", func(s *system) string {
		out := postconfOut(s)
		var keep []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "smtpd_sasl") || strings.HasPrefix(l, "smtpd_recipient_restrictions") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	})
	both(t, p, "postconf -e", func(s *system) string {
		out := postconfOut(s, "-e", "mynetworks_style=host", "smtpd_sasl_local_domain=$myhostname")
		s.Backdate()
		return out + postconfOut(s, "mynetworks_style", "smtpd_sasl_local_domain")
	})

	// Before the reload 127.0.0.1 is a stranger; after postconf -e
	// mynetworks and postfix reload it may relay.
	ref, our := both(t, p, "relay before reload", func(s *system) string { return rcptReply(t, s, "smtp", "someone@example.net") })
	for _, r := range []string{ref, our} {
		if !strings.HasPrefix(r, "554 5.7.1 ") {
			t.Errorf("relay before reload: %q", r)
		}
	}
	extra := map[*system]int{}
	for _, s := range []*system{p.ref, p.our} {
		if r := s.Postconf("-e", "mynetworks=127.0.0.0/8"); r.Exit != 0 {
			t.Errorf("%s: postconf -e: %s", s.who(), r.Stderr)
		}
		port := flowtest.FreePort(t)
		extra[s] = port
		f, err := os.OpenFile(filepath.Join(s.Etc, "master.cf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%d      inet  n       -       n       -       -       smtpd\n", port)
		f.Close()
		s.port["extra"] = port
		s.Backdate()
		s.Reload()
	}
	for _, s := range []*system{p.ref, p.our} {
		flowtest.WaitPort(t, extra[s], 10*time.Second)
	}
	// Processes started before the reload finish their sessions; new
	// ones read the new main.cf.
	deadline := time.Now().Add(wait)
	ref, our = both(t, p, "relay after reload", func(s *system) string {
		for {
			r := rcptReply(t, s, "smtp", "someone@example.net")
			if strings.HasPrefix(r, "250 ") || time.Now().After(deadline) {
				return r
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	for _, r := range []string{ref, our} {
		if !strings.HasPrefix(r, "250 2.1.5 Ok") {
			t.Errorf("relay after reload: %q", r)
		}
	}
	tr := map[*system][]string{}
	for _, s := range []*system{p.ref, p.our} {
		k := flowtest.Dial(t, s.addr("extra"))
		k.Cmd("QUIT")
		tr[s] = k.Transcript
	}
	sameLines(t, "telnet localhost 50000", p, tr[p.ref], tr[p.our])
	if tr[p.our][0] != "S: 220 mx.example.test ESMTP Postfix" {
		t.Errorf("greeting on the extra port: %q", tr[p.our])
	}

	// qshape: Debian's on its queue, ours on ours, the same shape.
	refQshape, ourQshape := testutil.Reference(t, "/usr/sbin/qshape"), testutil.Bin(t, "qshape")
	both(t, p, "qshape", func(s *system) string {
		prog := ourQshape
		if s == p.ref {
			prog = refQshape
		}
		r := testutil.Run(t, "/", prog, "qshape", nil, "-c", s.Etc, "-s", "incoming", "active", "deferred", "hold")
		return fmt.Sprintf("%s%s(exit %d)", r.Stdout, r.Stderr, r.Exit)
	})
}

// The lookup table types postconf -m lists, as the second guide shows.
func TestGuidePostconfM(t *testing.T) {
	t.Parallel()
	ref := testutil.Run(t, "/", testutil.Reference(t, "/usr/sbin/postconf"), "postconf", nil, "-m")
	our := testutil.Run(t, "/", testutil.Bin(t, "postconf"), "postconf", nil, "-m")
	if ref.Stdout != our.Stdout || ref.Exit != our.Exit {
		t.Errorf("postconf -m differs\n--- Postfix\n%s\n--- ours\n%s", ref.Stdout, our.Stdout)
	}
}
