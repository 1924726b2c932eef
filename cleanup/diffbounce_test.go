package cleanup

import (
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// pickupEnv is the envelope pickup(8) sends for a sendmail submission: no
// log_message_origin attribute (cleanup logs such mail as "from local").
func pickupEnv(sender string, rcpts ...string) []rec {
	env := []rec{{record.Attr, "rewrite_context=local"}, {record.FullName, "root"}, {record.From, sender}}
	for _, r := range rcpts {
		env = append(env, rec{record.Attr, "dsn_orig_rcpt=rfc822;" + r + "@host.example.com"},
			rec{record.ORcpt, r}, rec{record.Rcpt, r})
	}
	return env
}

// pickupFlags are the flags pickup(8) sends.
const pickupFlags = submit.FlagMaskExternal | submit.FlagBounce

// TestDiffChecksPickup: content actions on mail from pickup, with the
// bounce flag and a bounce service, compared with Debian's cleanup: the
// log lines ("from local"), what cleanup asks the bounce service and the
// queue file that service would read for the notice.
func TestDiffChecksPickup(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"etc/hc": "/^Subject: reject me/ REJECT not wanted here\n" +
			"/^Subject: warn me/ WARN just a warning\n" +
			"/^Subject: bcc me/ BCC postmaster\n" +
			"/^Subject: bcc full/ BCC spy@example.net\n" +
			"/^Subject: redirect bad/ REDIRECT postmaster\n" +
			"/^Subject: redirect me/ REDIRECT elsewhere@example.net\n" +
			"/^Subject: filter bad/ FILTER nocolon\n" +
			"/^Subject: filter empty/ FILTER\n" +
			"/^Subject: prepend empty/ PREPEND\n" +
			"/^Subject: reject four/ REJECT 4.7.1 later please\n" +
			"/^X-Drop: / IGNORE\n" +
			"/^X-Warn: / WARN header after\n",
		"etc/bc": "/^secret body/ REJECT body not allowed\n/^warn body/ WARN body warning\n",
	}
	checks := "header_checks = regexp:$DIR/etc/hc\nbody_checks = regexp:$DIR/etc/bc\n"
	msg := func(subj string) string {
		return rcvd + "Subject: " + subj + "\nX-Drop: gone\nX-Warn: x\nMessage-ID: <m@example.org>\n\nbody\nwarn body\n"
	}
	var cases []tcase
	for _, subj := range []string{"reject me", "warn me", "bcc me", "bcc full", "redirect bad", "redirect me",
		"filter bad", "filter empty", "prepend empty", "reject four"} {
		cases = append(cases, tcase{name: strings.ReplaceAll(subj, " ", "-"), main: checks, files: files,
			flags: pickupFlags, bounce: true, recs: stream(pickupEnv("root", "root"), msg(subj))})
	}
	cases = append(cases,
		tcase{name: "body-reject", main: checks, files: files, flags: pickupFlags, bounce: true,
			recs: stream(pickupEnv("root", "root", "bob"), rcvd+"Subject: body\nX-Drop: gone\n\nfirst\nsecret body here\nwarn body\nlast\n")},
		tcase{name: "reject-no-bounce-flag", main: checks, files: files, flags: submit.FlagMaskExternal, bounce: true,
			recs: stream(pickupEnv("root", "root"), msg("reject me"))},
		tcase{name: "oversize", main: "message_size_limit = 4000\nbounce_size_limit = 1000\n", flags: pickupFlags, bounce: true,
			recs: stream(pickupEnv("root", "root"), rcvd+"Subject: too big\nMessage-ID: <big@example.org>\n\n"+
				strings.Repeat("0123456789012345678901234567890123456789\n", 150))},
		tcase{name: "oversize-headers", main: "message_size_limit = 1000\n", flags: pickupFlags, bounce: true,
			recs: stream(pickupEnv("root", "root"), rcvd+strings.Repeat("X-Long: 0123456789012345678901234567890123456789\n", 40)+"\nbody\n")},
		tcase{name: "oversize-at-end", main: "message_size_limit = 700\n", flags: submit.FlagMaskExternal,
			recs: stream(pickupEnv("root", "root"), rcvd+"Subject: near\n\n"+strings.Repeat("0123456789012345678901234567890123456789\n", 9))},
		tcase{name: "oversize-at-end-bounce", main: "message_size_limit = 700\n", flags: pickupFlags, bounce: true,
			recs: stream(pickupEnv("root", "root"), rcvd+"Subject: near\n\n"+strings.Repeat("0123456789012345678901234567890123456789\n", 9))},
		tcase{name: "reject-chars-bounce", main: checks + "message_reject_characters = \\f\n", files: files, flags: pickupFlags, bounce: true,
			recs: stream(pickupEnv("root", "root"), rcvd+"Subject: x\nX-Drop: gone\n\nform\ffeed\nwarn body\n")},
		tcase{name: "soft-bounce", main: checks + "soft_bounce = yes\n", files: files, flags: pickupFlags, bounce: true,
			recs: stream(pickupEnv("root", "root"), msg("reject me"))},
		tcase{name: "hold-twice", main: "header_checks = regexp:$DIR/etc/hold\n", files: map[string]string{"etc/hold": "/^X-Hold:/ HOLD held\n"},
			flags: pickupFlags, bounce: true, recs: stream(pickupEnv("root", "root"), rcvd+"X-Hold: 1\nX-Hold: 2\n\nbody\n")},
	)
	diffCases(t, cases)
}
