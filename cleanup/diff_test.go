package cleanup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/internal/submit/oracle"
	"github.com/postfix-go/postfix/internal/testutil"
)

// rec is one record a test client sends.
type rec struct {
	t record.Type
	d string
}

// tcase is one differential case: the same main.cf, tables and record
// stream go to Debian's cleanup and to ours.
type tcase struct {
	name  string
	main  string
	files map[string]string
	flags int
	recs  []rec
	// logs, when set, keeps only the log lines it matches (to leave out
	// a table's own diagnostics, which are not cleanup's).
	logs string
	// bounce starts a stand-in bounce service; the requests it gets and
	// the queue file each notice request names are compared.
	bounce bool
}

// stream builds a record stream: envelope records env (after T), the
// content, and extracted records xtra.
func stream(env []rec, content string, xtra ...rec) []rec {
	out := []rec{{record.Time, "1699300000 250000"}}
	out = append(out, env...)
	out = append(out, rec{record.Mesg, ""})
	for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		out = append(out, rec{record.Norm, l})
	}
	out = append(out, rec{record.Xtra, ""})
	out = append(out, xtra...)
	return append(out, rec{record.End, ""})
}

// local is the envelope of a local submission (as pickup sends it).
func local(sender string, rcpts ...string) []rec {
	env := []rec{{record.Attr, "rewrite_context=local"}, {record.From, sender},
		{record.Attr, "log_message_origin=local"}}
	for _, r := range rcpts {
		env = append(env, rec{record.Rcpt, r})
	}
	return env
}

// outcome is what one cleanup did with a case.
type outcome struct {
	status  int
	reason  string
	queue   string // masked postcat output ("" when nothing was queued)
	logs    string // masked log lines
	trigger string // bytes written to public/qmgr
	bounces string // requests to the stand-in bounce service
}

var (
	msgidRE = regexp.MustCompile(`\d{14}\.QID@`)
	timeRE  = regexp.MustCompile(`(?m)^(create_time|message_arrival_time): .*$`)
	logRE   = regexp.MustCompile(`^\w+ +\d+ \d\d:\d\d:\d\d \S+ postfix/cleanup\[\d+\]: `)
	delayRE = regexp.MustCompile(`delay=[\d.]+, delays=[\d./]+`)
	// clockSkewRE matches the two warnings of Postfix's file time check.
	clockSkewRE = regexp.MustCompile(`^warning: (file system clock is \d+ seconds? ahead of local clock|resetting file time stamps - this hurts performance)$`)
)

func mask(s, id string) string {
	if id != "" {
		s = strings.ReplaceAll(s, id, "QID")
	}
	s = msgidRE.ReplaceAllString(s, "TIME.QID@")
	s = delayRE.ReplaceAllString(s, "delay=D, delays=D")
	return timeRE.ReplaceAllString(s, "$1: TIME")
}

// run sends c to a cleanup: Debian's when prog is "", else ours.
func run(t *testing.T, c tcase, prog string) outcome {
	t.Helper()
	s := oracle.New(t, c.main, c.files)
	if c.bounce {
		s.ListenBounce(t)
	}
	s.Start(t, prog)
	cfg, err := conf.Load(s.Etc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := submit.Open(cfg, c.flags)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	for _, r := range c.recs {
		st.PutString(r.t, r.d)
	}
	status, reason, err := st.Close()
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	id := st.QueueID()
	o := outcome{status: status, reason: reason}
	if status == 0 {
		out, err := exec.Command("/usr/sbin/postcat", "-c", s.Etc, "-q", id).CombinedOutput()
		if err == nil {
			o.queue = mask(string(out), id)
		} else if !strings.Contains(string(out), "No such file") {
			t.Errorf("postcat: %v: %s", err, out)
		}
	}
	// Let the last log lines arrive: on a loaded machine Postfix's come
	// late, so wait until no new line has come for a while.
	read := func() []string {
		if prog == "" {
			return s.Logs()
		}
		data, _ := os.ReadFile(filepath.Join(s.Dir, "maillog"))
		return strings.Split(strings.TrimSpace(string(data)), "\n")
	}
	lines := read()
	for quiet, start := 0, time.Now(); quiet < 4 && time.Since(start) < 5*time.Second; {
		time.Sleep(50 * time.Millisecond)
		if next := read(); len(next) != len(lines) {
			lines, quiet = next, 0
		} else {
			quiet++
		}
	}
	var kept []string
	for _, l := range lines {
		l = logRE.ReplaceAllString(strings.TrimSpace(l), "")
		// Postfix's cleanup compares the new file's time stamp with its
		// own clock and warns when the file system runs ahead; that says
		// something about this machine's clocks, not about the message.
		if clockSkewRE.MatchString(l) {
			continue
		}
		if l != "" {
			// Table names hold the system's directory.
			kept = append(kept, strings.ReplaceAll(mask(l, id), s.Dir, "$DIR"))
		}
	}
	o.logs = strings.Join(kept, "\n")
	if strings.Contains(o.queue, "incoming/") {
		// A queued message wakes qmgr; the trigger may take a moment.
		for i := 0; i < 100 && s.Triggers() == ""; i++ {
			time.Sleep(20 * time.Millisecond)
		}
	}
	o.trigger = s.Triggers()
	o.bounces = bounceText(t, s, id)
	return o
}

// bounceText describes the requests the stand-in bounce service got: each
// request's attributes and Debian's postcat of the queue file it names.
func bounceText(t *testing.T, s *oracle.System, id string) string {
	var b strings.Builder
	for i, r := range s.Bounces() {
		q := r.Request
		fmt.Fprintf(&b, "request %d flags %d queue %s/%s encoding %q smtputf8 %d sender %q envid %q ret %d\n",
			q.Cmd, q.Flags, q.QueueName, q.QueueID, q.Encoding, q.SMTPUTF8, q.Sender, q.EnvID, q.Ret)
		e := q.Entry
		fmt.Fprintf(&b, "  rcpt %q orig %q offset %d dsn_orcpt %q notify %d status %q action %q reason %q diag %q/%q mta %q/%q\n",
			e.Rcpt.Address, e.Rcpt.Orig, e.Rcpt.Offset, e.Rcpt.DSNOrig, e.Rcpt.Notify, e.Status.Code, e.Status.Action,
			e.Status.Reason, e.Status.DiagType, e.Status.Diag, e.Status.MTAType, e.Status.MTA)
		if r.Queue != nil {
			p := filepath.Join(s.Dir, fmt.Sprintf("bounce-copy-%d", i))
			if err := os.WriteFile(p, r.Queue, 0o644); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command("/usr/sbin/postcat", "-c", s.Etc, p).CombinedOutput()
			b.WriteString(strings.ReplaceAll(string(out), p, "COPY"))
		}
	}
	return mask(b.String(), id)
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// ourCleanup builds cmd/cleanup once (alone, so that work in progress in
// other commands cannot block these tests).
func ourCleanup(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := testutil.BuildDir("pfgo-cleanup-")
		if err != nil {
			buildErr = err
			return
		}
		os.Chmod(dir, 0o755)
		buildPath = filepath.Join(dir, "cleanup")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/cleanup")
		cmd.Dir = testutil.Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building cleanup: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}

func diffCases(t *testing.T, cases []tcase) {
	ours := ourCleanup(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			want := run(t, c, "")
			got := run(t, c, ours)
			if got.status != want.status || got.reason != want.reason {
				t.Errorf("reply: got %d %q, Postfix %d %q", got.status, got.reason, want.status, want.reason)
			}
			if got.queue != want.queue {
				t.Errorf("queue file differs:\n--- ours\n%s\n--- Postfix\n%s", got.queue, want.queue)
			}
			if got.bounces != want.bounces {
				t.Errorf("bounce service requests differ:\n--- ours\n%s\n--- Postfix\n%s", got.bounces, want.bounces)
			}
			if got.trigger != want.trigger {
				t.Errorf("qmgr trigger: got %q, Postfix %q", got.trigger, want.trigger)
			}
			if c.logs != "" {
				got.logs, want.logs = grepLines(got.logs, c.logs), grepLines(want.logs, c.logs)
			}
			if got.logs != want.logs {
				t.Errorf("logs differ:\n--- ours\n%s\n--- Postfix\n%s", got.logs, want.logs)
			}
		})
	}
}

func grepLines(s, re string) string {
	r := regexp.MustCompile(re)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if r.MatchString(l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

const rcvd = "Received: by host.example.com (Postfix, from userid 0)\n\tid X; Mon,  6 Nov 2023 19:46:40 +0000 (UTC)\n"

func TestDiffBasic(t *testing.T) {
	t.Parallel()
	diffCases(t, []tcase{
		{name: "missing-headers", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob", "carol@example.net"), rcvd+"Subject: hi\n\nbody\n")},
		{name: "fullname", flags: submit.FlagMaskExternal,
			recs: stream(append([]rec{{record.FullName, "Alice Q. Smith"}}, local("alice", "bob")...), rcvd+"Subject: hi\nTo: bob, carol\n\nbody\n")},
		{name: "null-sender", flags: submit.FlagMaskExternal,
			recs: stream(local("", "bob"), rcvd+"Subject: hi\n\nbody\n")},
		{name: "has-headers", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"From: Al <al@x.example>\nTo: b\nCc: c, d@e\nDate: Mon, 1 Jan 2001 00:00:00 +0000\nMessage-ID: <abc@def>\nReturn-Path: <x@y>\nBcc: z\n\nbody\n")},
		{name: "no-received", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), "Subject: hi\n\nbody\n")},
		{name: "received-later", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), "Subject: hi\n"+rcvd+"\nbody\n")},
		{name: "remote", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=remote"}, {record.From, "a@b.example"}, {record.Rcpt, "bob"}},
				rcvd+"To: joe\nSubject: x\n\nbody\n")},
		{name: "undisclosed", main: "undisclosed_recipients_header = To: undisclosed-recipients:;\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: hi\n\nbody\n")},
		{name: "extract", flags: submit.FlagMaskExternal,
			recs: stream(local("alice"), rcvd+"To: a, b@c.example\nCc: d\nBcc: hidden\n\nbody\n")},
		{name: "dsn", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=local"}, {record.From, "alice"},
				{record.Attr, "notify_flags=10"}, {record.Attr, "dsn_orig_rcpt=rfc822;bob@x"}, {record.ORcpt, "bobo"}, {record.Rcpt, "bob"},
				{record.Rcpt, "bob"}, {record.Rcpt, "Bob"}}, rcvd+"\nbody\n")},
		{name: "hops", main: "hopcount_limit = 3\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+rcvd+"Delivered-To: x\nSubject: hi\n\nbody\n")},
		{name: "oversize", main: "message_size_limit = 600\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: hi\n\n"+strings.Repeat("0123456789\n", 40))},
		{name: "long-line", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: hi\n\n"+strings.Repeat("x", 5000)+"\n")},
		{name: "no-rcpt", flags: submit.FlagMaskExternal,
			recs: stream(local("alice"), rcvd+"Subject: hi\n\nbody\n")},
		{name: "folded", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"To: a,\n  b,\n\tc\nSubject: a\n b\n\nbody\n")},
	})
}

func TestDiffMore(t *testing.T) {
	t.Parallel()
	diffCases(t, []tcase{
		{name: "hops-over", main: "hopcount_limit = 3\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+rcvd+rcvd+"Delivered-To: x\nSubject: hi\n\nbody\n")},
		{name: "dup-dsn-diff", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=local"}, {record.From, "alice"},
				{record.Rcpt, "bob"}, {record.ORcpt, "other"}, {record.Rcpt, "bob"}, {record.Rcpt, "BOB@example.org"}}, rcvd+"\nbody\n")},
		{name: "resent", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Resent-To: x\nTo: y\nSubject: hi\n\nbody\n")},
		{name: "remote-rewrite", main: "remote_header_rewrite_domain = domain.invalid\n", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=remote"}, {record.From, "a@b.example"}, {record.Rcpt, "bob"}},
				rcvd+"To: joe\nFrom: me\nSubject: x\n\nbody\n")},
		{name: "always-add", main: "always_add_missing_headers = yes\n", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=remote"}, {record.From, "a@b.example"}, {record.Rcpt, "bob"}},
				rcvd+"Subject: x\n\nbody\n")},
		{name: "quoted-fullname", flags: submit.FlagMaskExternal,
			recs: stream(append([]rec{{record.FullName, "Smith, John (Jr.) \"JJ\""}}, local("alice", "bob")...), rcvd+"\nbody\n")},
		{name: "long-ids", main: "enable_long_queue_ids = yes\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"\nbody\n")},
		{name: "delay-warning", main: "delay_warning_time = 4h\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"\nbody\n")},
		{name: "headers-only", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x")},
		{name: "body-no-blank", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\nnot a header line\nmore")},
		{name: "hold-flag", flags: submit.FlagMaskExternal | submit.FlagHold,
			recs: stream(local("alice", "bob"), rcvd+"\nbody\n")},
		{name: "extra-flags", flags: submit.FlagMaskExternal,
			recs: append([]rec{{record.Flags, "4"}}, stream(local("alice", "bob"), rcvd+"\nbody\n")...)},
		{name: "no-time", flags: submit.FlagMaskExternal,
			recs: []rec{{record.From, "a"}, {record.Rcpt, "b"}, {record.Mesg, ""}, {record.Norm, "x"}, {record.Xtra, ""}, {record.End, ""}}},
		{name: "bad-type", flags: submit.FlagMaskExternal,
			recs: append([]rec{{record.Type('Z'), "x"}}, stream(local("alice", "bob"), rcvd+"\nbody\n")...)},
	})
}

func TestDiffMapping(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"etc/canonical":  "alice alice.smith@example.com\n@old.example @new.example\n",
		"etc/scanonical": "carol@example.org sender-carol@example.com\n",
		"etc/rcanonical": "dave@example.org rcpt-dave@example.com\n",
		"etc/virtual":    "list@example.org a, b@elsewhere.example, list@example.org\nfwd@example.org target+x@example.net\nloop1@example.org loop2@example.org\nloop2@example.org loop1@example.org\nuser+ext@example.org ext-target\n",
		"etc/sbcc":       "alice@example.org sender-copy@example.net\n",
		"etc/rbcc":       "bob@example.org rcpt-copy@example.net\n",
	}
	maps := "canonical_maps = texthash:$DIR/etc/canonical\n" +
		"sender_canonical_maps = texthash:$DIR/etc/scanonical\n" +
		"recipient_canonical_maps = texthash:$DIR/etc/rcanonical\n" +
		"virtual_alias_maps = texthash:$DIR/etc/virtual\n"
	hdrs := rcvd + "From: carol, x@old.example\nTo: dave, list, y@sub.old.example\nCc: alice\n\nbody\n"
	diffCases(t, []tcase{
		{name: "canonical", main: maps, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob", "x@old.example", "dave"), hdrs)},
		{name: "sender-canonical", main: maps, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("carol", "dave"), hdrs)},
		{name: "no-map-flag", main: maps, files: files, flags: submit.FlagFilter,
			recs: stream(local("alice", "list", "dave"), hdrs)},
		{name: "classes", main: maps + "canonical_classes = envelope_recipient\nrecipient_canonical_classes = header_recipient\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "alice", "dave"), hdrs)},
		{name: "virtual", main: maps, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("bob", "list", "fwd", "a", "user+ext"), hdrs)},
		{name: "virtual-notify", main: maps, files: files, flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=local"}, {record.From, "bob"}, {record.Attr, "notify_flags=8"}, {record.Rcpt, "list"},
				{record.Attr, "notify_flags=12"}, {record.Rcpt, "fwd"}}, hdrs)},
		{name: "virtual-recursion", main: maps + "virtual_alias_recursion_limit = 1\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("bob", "fwd", "list"), hdrs)},
		{name: "virtual-expansion", main: maps + "virtual_alias_expansion_limit = 1\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("bob", "list"), hdrs)},
		{name: "table-error", main: "virtual_alias_maps = tcp:127.0.0.1:9\n", flags: submit.FlagMaskExternal,
			recs: stream(local("bob", "list"), hdrs), logs: "QID|lookup error"},
		{name: "canonical-error", main: "canonical_maps = tcp:127.0.0.1:9\n", flags: submit.FlagMaskExternal,
			recs: stream(local("bob", "list"), hdrs), logs: "QID|lookup error"},
		{name: "masquerade", main: "masquerade_domains = !keep.example.com, example.com\nmasquerade_exceptions = root\n", flags: submit.FlagMaskExternal,
			recs: stream(local("a@host.example.com", "b@host.example.com"),
				rcvd+"From: c@x.example.com, root@y.example.com, d@keep.example.com, e@example.com\nTo: f@z.example.com\n\nbody\n")},
		{name: "masquerade-classes", main: "masquerade_domains = example.com\nmasquerade_classes = envelope_recipient\n", flags: submit.FlagMaskExternal,
			recs: stream(local("a@host.example.com", "b@host.example.com"),
				rcvd+"From: c@x.example.com\n\nbody\n")},
		{name: "bcc", main: "always_bcc = archive\nsender_bcc_maps = texthash:$DIR/etc/sbcc\nrecipient_bcc_maps = texthash:$DIR/etc/rbcc\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob", "carol"), rcvd+"\nbody\n")},
		{name: "bcc-not-ok", main: "always_bcc = archive\nsender_bcc_maps = texthash:$DIR/etc/sbcc\n", files: files, flags: submit.FlagMaskInternal,
			recs: stream(local("alice", "bob"), rcvd+"\nbody\n")},
		{name: "override", main: maps + "receive_override_options = no_address_mappings\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "list"), hdrs)},
	})
}

func TestDiffChecks(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"etc/header_checks": "/^Subject: reject me/ REJECT go away\n" +
			"/^Subject: reject plain/ REJECT\n" +
			"/^Subject: code/ 550 5.7.0 custom code\n" + // not an action in 3.7
			"/^Subject: defer/ DEFER try later\n" + // neither
			"/^Subject: warn/ WARN watch this\n" +
			"/^Subject: info/ INFO noted\n" +
			"/^Subject: hold/ HOLD held here\n" +
			"/^Subject: discard/ DISCARD dropped\n" +
			"/^Subject: redirect/ REDIRECT elsewhere@example.net\n" +
			"/^Subject: filter/ FILTER smtp:[127.0.0.1]:10025\n" +
			"/^Subject: bcc/ BCC spy@example.net\n" +
			"/^X-Ignore:/ IGNORE\n" +
			"/^X-Prepend:/ PREPEND X-Added: yes\n" +
			"/^X-Replace: (.*)/ REPLACE X-Replaced: $1\n" +
			"/^X-Dunno:/ DUNNO\n" +
			"/^X-Multi:.*two/ WARN multi-line match\n",
		"etc/body_checks": "/^reject body/ REJECT bad body\n/^warn body/ WARN body seen\n/^drop this/ IGNORE\n/^replace (.*)/ REPLACE new $1\n",
	}
	checks := "header_checks = regexp:$DIR/etc/header_checks\nbody_checks = regexp:$DIR/etc/body_checks\n"
	var cases []tcase
	for _, subj := range []string{"reject me", "reject plain", "code", "defer", "warn", "info", "hold", "discard", "redirect", "filter", "bcc"} {
		cases = append(cases, tcase{name: strings.ReplaceAll(subj, " ", "-"), main: checks, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: "+subj+"\n\nbody\n")})
	}
	cases = append(cases,
		tcase{name: "edits", main: checks, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"X-Ignore: a\nX-Prepend: b\nX-Replace: c\nX-Dunno: d\nX-Multi: one\n two\nSubject: s\n\nbody\n")},
		tcase{name: "body", main: checks, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: s\n\nwarn body\ndrop this\nreplace me\nreject body\nafter\n")},
		tcase{name: "no-filter-flag", main: checks, files: files, flags: submit.FlagMapOK,
			recs: stream(local("alice", "bob"), rcvd+"Subject: reject me\n\nreject body\n")},
		tcase{name: "override", main: checks + "receive_override_options = no_header_body_checks\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: reject me\n\nbody\n")},
		tcase{name: "smtpd-attrs", main: checks, files: files, flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=remote"}, {record.Attr, "log_client_name=client.example"},
				{record.Attr, "log_client_address=192.0.2.1"}, {record.Attr, "log_message_origin=client.example[192.0.2.1]"},
				{record.Attr, "log_helo_name=helo.example"}, {record.Attr, "log_protocol_name=ESMTP"},
				{record.From, "a@b.example"}, {record.Rcpt, "bob@host.example.com"}}, rcvd+"Subject: warn\n\nbody\n")},
	)
	cases = append(cases,
		tcase{name: "bounce-no-service", main: checks, files: files, flags: submit.FlagMaskExternal | submit.FlagBounce,
			recs: stream(local("alice", "bob"), rcvd+"Subject: reject me\n\nbody\n")})
	diffCases(t, cases)
}

func TestDiffMIME(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"etc/hc": "/^Content-Type:.*name=\"?evil/ REJECT attachment refused\n/^X-Part: warn/ WARN part header\n/^Subject: nested/ WARN nested subject\n",
		"etc/mc": "/^Content-Disposition:.*bad/ WARN mime table\n/^X-Part: warn/ WARN mime part\n",
		"etc/nc": "/^Subject: nested/ WARN nested table\n",
		"etc/bc": "/^body text/ WARN body seen\n/^--/ WARN boundary as body\n/^X-Part/ WARN part header as body\n/^Subject: nested/ WARN nested as body\n",
	}
	msg := rcvd + "MIME-Version: 1.0\nContent-Type: multipart/mixed;\n\tboundary=\"=_outer\"\nSubject: m\n\npreamble\n" +
		"--=_outer\nContent-Type: text/plain\nX-Part: warn me\n\nbody text one\n" +
		"--=_outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/html\n\nbody text two\n--inner--\n" +
		"--=_outer\nContent-Type: message/rfc822\nContent-Disposition: attachment; bad\n\nSubject: nested here\nFrom: x@y\n\nbody text three\n" +
		"--=_outer\nContent-Type: application/octet-stream; name=\"evil.exe\"\n\nAAAA\n--=_outer--\nepilogue\n"
	defaults := "header_checks = regexp:$DIR/etc/hc\nbody_checks = regexp:$DIR/etc/bc\n"
	separate := defaults + "mime_header_checks = regexp:$DIR/etc/mc\nnested_header_checks = regexp:$DIR/etc/nc\n"
	diffCases(t, []tcase{
		{name: "defaults", main: defaults, files: files, flags: submit.FlagMaskExternal, recs: stream(local("alice", "bob"), msg)},
		{name: "separate", main: separate, files: files, flags: submit.FlagMaskExternal, recs: stream(local("alice", "bob"), msg)},
		{name: "disabled", main: separate + "disable_mime_input_processing = yes\n", files: files, flags: submit.FlagMaskExternal, recs: stream(local("alice", "bob"), msg)},
		{name: "top-rfc822", main: separate, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Content-Type: message/rfc822\n\nSubject: nested top\n\nbody text\n")},
	})
}

func TestDiffUTF8(t *testing.T) {
	t.Parallel()
	diffCases(t, []tcase{
		{name: "auto-header", flags: submit.FlagMaskExternal | submit.FlagAutoUTF8,
			recs: stream(local("alice", "bob"), rcvd+"Subject: caf\u00e9\n\nbody\n")},
		{name: "auto-body-only", flags: submit.FlagMaskExternal | submit.FlagAutoUTF8,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\n\nb\u00f6dy\n")},
		{name: "auto-envelope", flags: submit.FlagMaskExternal | submit.FlagAutoUTF8,
			recs: stream(local("j\u00f6rg", "bob"), rcvd+"Subject: x\n\nbody\n")},
		{name: "requested", flags: submit.FlagMaskExternal | submit.FlagSMTPUTF8,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\n\nbody\n")},
		{name: "no-flag", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: caf\u00e9\n\nbody\n")},
		{name: "reject-chars", main: "message_reject_characters = \\0\\f\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\n\nform\ffeed\n")},
		{name: "strip-chars", main: "message_strip_characters = \\0\\f\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\fy\n\nform\ffeed\n")},
	})
}

func TestDiffOptions(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"etc/virtual":   "user@example.org target@example.net\nlist@example.org a, b\n",
		"etc/canonical": "carol@example.org carol.c@example.com\n",
	}
	maps := "recipient_delimiter = +\nvirtual_alias_maps = texthash:$DIR/etc/virtual\ncanonical_maps = texthash:$DIR/etc/canonical\n"
	dupes := stream(local("alice", "bob", "bob", "list", "a"), rcvd+"\nbody\n")
	diffCases(t, []tcase{
		{name: "no-orig-rcpt", main: "enable_original_recipient = no\n" + maps, files: files, flags: submit.FlagMaskExternal, recs: dupes},
		{name: "dup-limit", main: "duplicate_filter_limit = 1\n" + maps, files: files, flags: submit.FlagMaskExternal, recs: dupes},
		{name: "extensions", main: maps, files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("carol+s", "user+x", "carol+y", "list+z"), rcvd+"To: carol+h\n\nbody\n")},
		{name: "no-propagate", main: maps + "propagate_unmatched_extensions =\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("carol+s", "user+x", "carol+y"), rcvd+"To: carol+h\n\nbody\n")},
		{name: "empty-rcpt", flags: submit.FlagMaskExternal, recs: stream(local("alice", ""), rcvd+"\nbody\n")},
		{name: "quoted-local", flags: submit.FlagMaskExternal,
			recs: stream(local("a b", "c d@example.net"), rcvd+"To: \"e f\"@example.net, g\n\nbody\n")},
	})
}

// TestDiffBareCR: a carriage return that does not end a line, in the
// body or in a header, as smtpd hands it over (found by handing records
// straight to Postfix's cleanup).
func TestDiffBareCR(t *testing.T) {
	t.Parallel()
	diffCases(t, []tcase{
		{name: "body", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\n\none\rtwo\n\rlead\ntrail\r\n\r\n")},
		{name: "header", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\ry\nX-A: \r\n\nbody\n")},
		{name: "remote", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=remote"}, {record.From, "a@b.example"}, {record.Rcpt, "bob"}},
				rcvd+"To: joe\rx\nSubject: x\n\nbo\rdy\n")},
		{name: "strip", main: "message_strip_characters = \\r\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\n\none\rtwo\n")},
		{name: "reject", main: "message_reject_characters = \\r\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\n\none\rtwo\n")},
		{name: "no-filter", flags: submit.FlagMapOK,
			recs: stream(local("alice", "bob"), rcvd+"Subject: x\ry\n\none\rtwo\n")},
		{name: "checks", main: "header_checks = regexp:$DIR/etc/hc\nbody_checks = regexp:$DIR/etc/bc\n",
			files: map[string]string{"etc/hc": "/^Subject: x y$/ WARN subject space\n",
				"etc/bc": "/^one two$/ WARN body space\n"},
			flags: submit.FlagMaskExternal,
			recs:  stream(local("alice", "bob"), rcvd+"Subject: x\ry\n\none\rtwo\n")},
	})
}

// TestDiffNUL: a NUL byte in a header line and in the body, as smtpd
// hands them over from an SMTP client (found by the end-to-end hostile
// tests; Postfix's cleanup, not its smtpd, cuts the header at the NUL).
func TestDiffNUL(t *testing.T) {
	t.Parallel()
	diffCases(t, []tcase{
		{name: "header", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: nul\x00here\nX-A: \x00\n\nbody\x00with nul\n")},
		{name: "name", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subj\x00ect: x\nTo: a\x00b@example.net, c\n\nbody\n")},
		{name: "folded", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: one\n two\x00three\n four\nX-B: y\n\nbody\n")},
		{name: "remote", flags: submit.FlagMaskExternal,
			recs: stream([]rec{{record.Attr, "rewrite_context=remote"}, {record.From, "a@b.example"}, {record.Rcpt, "bob"}},
				rcvd+"From: x\x00y@b.example\nSubject: \x00\n\nbo\x00dy\n")},
		{name: "checks", main: "header_checks = regexp:$DIR/etc/hc\nbody_checks = regexp:$DIR/etc/bc\n",
			files: map[string]string{"etc/hc": "/^Subject: nul$/ WARN subject cut\n",
				"etc/bc": "/^body$/ WARN body cut\n"},
			flags: submit.FlagMaskExternal,
			recs:  stream(local("alice", "bob"), rcvd+"Subject: nul\x00here\n\nbody\x00with\n")},
		{name: "records", flags: submit.FlagMaskExternal, recs: pieces(local("alice", "bob"),
			rec{record.Cont, "Subject: a\x00b"}, rec{record.Cont, "cd"}, rec{record.Norm, "e\x00f"},
			rec{record.Norm, ""}, rec{record.Cont, "bo\x00dy"}, rec{record.Norm, "end"})},
		{name: "mime", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\x00x\"\n\n--b\nContent-Type: text/plain\x00junk\n\npart\n--b--\n")},
	})
}

// pieces is stream with content given as records, for lines that span
// several of them.
func pieces(env []rec, content ...rec) []rec {
	out := []rec{{record.Time, "1699300000 250000"}}
	out = append(out, env...)
	out = append(out, rec{record.Mesg, ""})
	out = append(out, content...)
	return append(out, rec{record.Xtra, ""}, rec{record.End, ""})
}
