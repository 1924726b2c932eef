package smtptest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

const wait = 30 * time.Second

// hostname is myhostname of both systems.
const hostname = "mx.example.test"

// baseMaster is what every SMTP scenario adds to devconf's services:
// Postfix's smtpd asks tlsmgr for entropy before it offers TLS (ours
// does not use it). devconf already has anvil, and proxymap for Postfix.
const baseMaster = "tlsmgr    unix  -       -       n       -       1       tlsmgr\n"

// system is one private mail system with its inet services' ports.
type system struct {
	*flowtest.System
	port map[string]int // placeholder name → port
}

// addr returns 127.0.0.1:PORT for the service placeholder name.
func (s *system) addr(name string) string {
	p, ok := s.port[name]
	if !ok {
		panic("no service placeholder {" + name + "}")
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

// who says which system a message is about.
func (s *system) who() string {
	if s.Ref {
		return "Postfix"
	}
	return "ours"
}

// pair is one scenario run on Debian's Postfix and on ours.
type pair struct {
	ref, our *system
}

// selftest reports whether Debian's Postfix runs on both sides (harness
// check).
func selftest() bool { return os.Getenv("PFGO_FLOW_SELFTEST") != "" }

// newPair writes the same configuration for both systems. In main and
// master, each {name} is replaced by a free loopback port of that system
// (the same name, the same port throughout one system); setup runs on
// each before it starts. Every system gets a TLS certificate for
// mx.example.test as $config_directory/mx.example.test.crt and .key.
func newPair(t *testing.T, main, master string, setup func(s *system)) pair {
	t.Helper()
	return pair{ref: newSystem(t, main, master, true, setup), our: newSystem(t, main, master, selftest(), setup)}
}

// newSystem writes one system of a pair (see newPair): Debian's when ref
// is set, else ours.
func newSystem(t *testing.T, main, master string, ref bool, setup func(s *system)) *system {
	t.Helper()
	s := &system{port: map[string]int{}}
	m, ms := flowtest.Ports(t, main, s.port), flowtest.Ports(t, baseMaster+master, s.port)
	if ref {
		s.System = flowtest.NewReferenceWithMaster(t, m, ms)
	} else {
		s.System = flowtest.NewWithMaster(t, m, ms)
	}
	tlstest.Cert(t, s.Etc, hostname)
	if setup != nil {
		setup(s)
	}
	s.Backdate()
	return s
}

// each runs fn on both systems at once (they are independent) and waits.
func (p pair) each(fn func(s *system)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(p.ref)
	}()
	fn(p.our)
	<-done
}

// start starts both systems and waits until each listens on every port.
func (p pair) start(t *testing.T) {
	for _, s := range []*system{p.ref, p.our} {
		s.Start()
	}
	for _, s := range []*system{p.ref, p.our} {
		for _, port := range s.port {
			if listens(s, port) {
				flowtest.WaitPort(t, port, 10*time.Second)
			}
		}
	}
}

// listens reports whether port is one of the system's master.cf inet
// services (rather than, say, a Dovecot port).
func listens(s *system, port int) bool {
	b, _ := os.ReadFile(filepath.Join(s.Etc, "master.cf"))
	return regexp.MustCompile(`(?m)^(127\.0\.0\.1:)?` + strconv.Itoa(port) + `\s+inet\s`).Match(b)
}

// mask hides what differs by nature between the two systems in reply and
// log lines: queue IDs, dates, process IDs, ports, base directories, and
// the one TLS 1.3 cipher difference (maskCipher).
func mask(s *system, text string) string {
	text = maskCipher(s, text)
	text = strings.ReplaceAll(text, s.Base, "BASE")
	for name, port := range s.port {
		text = regexp.MustCompile(`\b`+strconv.Itoa(port)+`\b`).ReplaceAllLiteralString(text, "{"+name+"}")
	}
	return flowtest.Normalize(text)
}

// The TLS 1.3 cipher: for the same client (swaks, OpenSSL's order) Debian's
// Postfix, with OpenSSL, takes TLS_AES_256_GCM_SHA384, and Go's crypto/tls,
// which has no setting for it, takes TLS_AES_128_GCM_SHA256 (see
// doc/DIFFERENCES.md, smtpd). This is the only place the comparisons
// forgive it: in log lines and Received headers, Postfix's
// "cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" and our
// "cipher TLS_AES_128_GCM_SHA256 (128/128 bits)" both read
// "cipher TLS13_AES_GCM (N/N bits)"; any other cipher, or the pair the
// other way round, still differs. goCipher asserts that ours does name the
// 128-bit suite, so the mask cannot hide another fault.
var (
	refTLS13Cipher = regexp.MustCompile(`\bcipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)`)
	ourTLS13Cipher = regexp.MustCompile(`\bcipher TLS_AES_128_GCM_SHA256 \(128/128 bits\)`)
)

// maskCipher writes the TLS 1.3 cipher the system is known to choose as
// "cipher TLS13_AES_GCM (N/N bits)" (see above).
func maskCipher(s *system, text string) string {
	re := ourTLS13Cipher
	if s.Ref {
		re = refTLS13Cipher
	}
	return re.ReplaceAllLiteralString(text, "cipher TLS13_AES_GCM (N/N bits)")
}

// goCipher fails the test unless our TLS 1.3 sessions, as logged with
// smtpd_tls_loglevel 1, used TLS_AES_128_GCM_SHA256 and nothing else, and
// at least one was logged (ours only: the self-test has Postfix's choice).
func goCipher(t *testing.T, s *system) {
	t.Helper()
	if s.Ref {
		return
	}
	lines := s.LogLines(`TLS connection established .*: TLSv1\.3 with cipher `)
	if len(lines) == 0 {
		t.Errorf("ours: no TLSv1.3 connection logged; log:\n%s", s.LogText())
	}
	for _, l := range lines {
		if !ourTLS13Cipher.MatchString(l) {
			t.Errorf("ours: TLSv1.3 session without TLS_AES_128_GCM_SHA256 (128/128 bits): %s", l)
		}
	}
}

// same fails the test when the masked texts differ.
func same(t *testing.T, what string, p pair, ref, our string) {
	t.Helper()
	r, o := mask(p.ref, ref), mask(p.our, our)
	if r != o {
		t.Errorf("%s differs (masked)%s", what, diff(r, o))
		dump(t, what, r, o)
	}
}

// dump writes both sides of a difference to $PFGO_SMTP_DUMP/NAME.postfix
// and NAME.ours when that variable names a directory (for diff -u).
func dump(t *testing.T, what, ref, our string) {
	dir := os.Getenv("PFGO_SMTP_DUMP")
	if dir == "" {
		return
	}
	name := regexp.MustCompile(`[^\w.-]+`).ReplaceAllString(t.Name()+"-"+what, "_")
	name = name[:min(len(name), 120)]
	for side, text := range map[string]string{"postfix": ref, "ours": our} {
		if err := os.WriteFile(filepath.Join(dir, name+"."+side), []byte(text+"\n"), 0o644); err != nil {
			t.Logf("PFGO_SMTP_DUMP: %v", err)
		}
	}
}

// diff shows where two texts first differ: a few lines of context, then
// each side until ten lines past the difference.
func diff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	from := max(i-3, 0)
	part := func(l []string) string {
		return strings.Join(l[min(from, len(l)):min(i+10, len(l))], "\n")
	}
	return fmt.Sprintf(" at line %d\n--- Postfix\n%s\n--- ours\n%s", i+1, part(al), part(bl))
}

// sameLines is same for line lists.
func sameLines(t *testing.T, what string, p pair, ref, our []string) {
	t.Helper()
	same(t, what, p, strings.Join(ref, "\n"), strings.Join(our, "\n"))
}

// smtpdLog returns the system's smtpd and cleanup log lines whose text
// matches re, in order, with the base directory written BASE.
func smtpdLog(s *system, re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, l := range s.LogLines(`postfix(/\w+)?/(smtpd|cleanup)\[`) {
		if rx.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// logText masks and joins log lines (each masked on its own so queue IDs
// number per line), sorted when unordered is set.
func logText(s *system, lines []string, unordered bool) string {
	var out []string
	for _, l := range lines {
		out = append(out, mask(s, l))
	}
	if unordered {
		sort.Strings(out)
	}
	return strings.Join(out, "\n")
}

// queueFiles lists the files in the queue directories that hold mail in
// transit or waiting (not bounce logs).
func queueFiles(s *system) []string {
	var files []string
	for _, q := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
		_ = filepath.WalkDir(filepath.Join(s.Queue, q), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, strings.TrimPrefix(p, s.Queue+"/"))
			}
			return nil
		})
	}
	return files
}

var (
	connectRe    = regexp.MustCompile(`(?m)postfix(/\w+)?/smtpd\[\d+\]: connect from `)
	disconnectRe = regexp.MustCompile(`(?m)postfix(/\w+)?/smtpd\[\d+\]: disconnect from `)
)

// waitQuiet waits until every SMTP session has ended (as many
// "disconnect from" log lines as "connect from"), no message is in
// incoming or active (delivered, bounced or refused), and the last log
// lines are written.
func waitQuiet(t *testing.T, s *system) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		text := s.LogText()
		if len(connectRe.FindAllStringIndex(text, -1)) <= len(disconnectRe.FindAllStringIndex(text, -1)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: SMTP sessions still open after %v; log:\n%s", s.who(), wait, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		busy := 0
		for _, f := range queueFiles(s) {
			if strings.HasPrefix(f, "incoming/") || strings.HasPrefix(f, "active/") || strings.HasPrefix(f, "maildrop/") {
				busy++
			}
		}
		if busy == 0 {
			time.Sleep(300 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d messages still in transit after %v; log:\n%s", s.who(), busy, wait, s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// emptyQueue fails the test when any message file is queued.
func emptyQueue(t *testing.T, s *system, after string) {
	t.Helper()
	if f := queueFiles(s); len(f) != 0 {
		t.Errorf("%s: queue not empty after %s: %v", s.who(), after, f)
	}
}

// mbox reads a mailbox under the spool, "" when there is none.
func mbox(s *system, user string) string {
	b, _ := os.ReadFile(filepath.Join(s.Spool, user))
	return string(b)
}

// waitMbox waits until user's mailbox holds n messages.
func waitMbox(t *testing.T, s *system, user string, n int) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		m := mbox(s, user)
		if strings.Count("\n"+m, "\nFrom ") >= n {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: mailbox %s has not %d messages after %v:\n%s\nlog:\n%s", s.who(), user, n, wait, m, s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dialogue runs script on one system and returns the transcript: steps
// are raw texts sent in one write each, with the number of replies to
// read after it written as a prefix "N|" (default 1, "0|" reads none);
// "TLS|" does the TLS handshake; "REST|" reads whatever else comes within
// one and a half seconds, "SLOW|" within five seconds (for timeouts).
func dialogue(t *testing.T, addr string, script []string) []string {
	t.Helper()
	k := flowtest.Dial(t, addr)
	defer k.Close()
	for _, step := range script {
		n := 1
		if i := strings.Index(step, "|"); i > 0 && i < 5 {
			switch step[:i] {
			case "TLS":
				k.StartTLS()
				continue
			case "REST":
				k.Rest(1500 * time.Millisecond)
				continue
			case "SLOW":
				k.Rest(5 * time.Second)
				continue
			default:
				v, err := strconv.Atoi(step[:i])
				if err != nil {
					t.Fatalf("bad step %q", step)
				}
				n, step = v, step[i+1:]
			}
		}
		k.Send(step, n)
		if k.Closed() {
			break
		}
	}
	return k.Transcript
}

// talk runs the same script on both systems' service and compares the
// transcripts.
func talk(t *testing.T, p pair, service string, script []string) (ref, our []string) {
	t.Helper()
	p.each(func(s *system) {
		tr := dialogue(t, s.addr(service), script)
		if s == p.ref {
			ref = tr
		} else {
			our = tr
		}
	})
	sameLines(t, fmt.Sprintf("dialogue on %s", service), p, ref, our)
	if testing.Verbose() {
		t.Logf("transcript (Postfix):\n%s", strings.Join(ref, "\n"))
	}
	return ref, our
}
