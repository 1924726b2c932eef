package cleanup

import (
	"testing"

	"github.com/postfix-go/postfix/internal/submit"
)

// Tables that cannot be opened, lookups that fail and lookups that find
// an empty value, compared with Postfix's cleanup: the reply status and
// reason (none: the client says "queue file write error" itself, except
// for virtual alias expansion), the queue file (none) and every log line:
// "error: WHY" once when the table is opened, however many parameters
// name it; "TYPE:NAME is unavailable. WHY" and "TYPE:NAME lookup error
// for "KEY"" at each lookup; "PARAM lookup of KEY returns an empty string
// result" and "PARAM should return NO RESULT in case of NOT FOUND"; then
// cleanup's "map lookup problem" line.
// cleanupLines keeps cleanup's own log lines: Postfix's trivial-rewrite
// also opens virtual_alias_maps (for virtual_alias_domains).
const cleanupLines = `^(warning|error|QID):`

func TestDiffTableFailures(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		// A rule without a result gives an empty value.
		"etc/empty": "/^bob@/\n/^Subject: empty/\n/^empty body/\n",
	}
	hdrs := rcvd + "Subject: s\n\nbody\n"
	diffCases(t, []tcase{
		{name: "canonical-unopenable", main: "canonical_maps = hash:$DIR/etc/missing\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs)},
		{name: "virtual-unknown-type", main: "virtual_alias_maps = nosuch:$DIR/etc/virtual\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs), logs: cleanupLines},
		{name: "canonical-bad-inline", main: "sender_canonical_maps = inline:{alice}\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs)},
		{name: "recipient-canonical-empty", main: "recipient_canonical_maps = regexp:$DIR/etc/empty\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs)},
		{name: "virtual-empty", main: "virtual_alias_maps = regexp:$DIR/etc/empty\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs), logs: cleanupLines},
		{name: "bcc-failing", main: "recipient_bcc_maps = fail:bcc\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs)},
		// One table for header_checks and the MIME and nested header
		// parameters that default to it: one "error:" line.
		{name: "header-checks-unopenable", main: "header_checks = regexp:$DIR/etc/missing\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs)},
		{name: "header-checks-empty", main: "header_checks = regexp:$DIR/etc/empty\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: empty\n\nbody\n")},
		{name: "body-checks-empty", main: "body_checks = regexp:$DIR/etc/empty\n", files: files, flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), rcvd+"Subject: s\n\nempty body\n")},
		{name: "body-checks-failing", main: "body_checks = fail:body\n", flags: submit.FlagMaskExternal,
			recs: stream(local("alice", "bob"), hdrs)},
	})
}
