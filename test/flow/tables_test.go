package flow

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// A table that cannot be opened, a lookup that fails and a lookup that
// finds an empty value, in each daemon that searches tables for mail
// from sendmail, compared with Postfix: the daemons' log lines (the
// "error:" line when the table is opened, "TYPE:NAME is unavailable",
// "lookup error for", "returns an empty string result", the daemon's
// own line) and the message's fate (left in maildrop for pickup's next
// try when cleanup fails; deferred with "address resolver failure" or
// "alias database unavailable"; never delivered or bounced).
func TestTableFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// main is added to main.cf with postconf -e, so that it may
		// replace a parameter devconf sets (alias_maps).
		main []string
		// done matches the last log line the scenario writes.
		done string
	}{
		{"canonical unopenable", []string{"canonical_maps = hash:$config_directory/missing"},
			`postfix/pickup\[\d+\]: warning: maildrop/\S+: error writing`},
		{"virtual empty result", []string{"virtual_alias_maps = inline:{root=}"},
			`virtual_alias_maps map lookup problem for`},
		// A regexp rule without a result gives an empty value; the
		// table is opened once for header_checks and the MIME and
		// nested header parameters that default to it.
		{"header_checks empty result", []string{"header_checks = regexp:$config_directory/empty.regexp"},
			`postfix/pickup\[\d+\]: warning: maildrop/\S+: error writing`},
		{"body_checks failing", []string{"body_checks = fail:body"},
			`postfix/pickup\[\d+\]: warning: maildrop/\S+: error writing`},
		// trivial-rewrite looks "*" up when it starts, for
		// transport_maps and address_verify_transport_maps.
		{"transport unopenable", []string{"transport_maps = hash:$config_directory/missing"},
			`status=deferred`},
		{"relocated empty result", []string{"relocated_maps = inline:{root@mx.example.test=}"},
			`status=deferred`},
		{"alias_maps unknown type", []string{"alias_maps = nosuch:aliases"},
			`status=deferred`},
		{"alias_maps failing", []string{"alias_maps = fail:aliases"},
			`status=deferred`},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, "", func(s *flowtest.System) {
				s.WriteFile("empty.regexp", "/^Subject: empty/\n")
				args := append([]string{"-c", s.Etc, "-e"}, tc.main...)
				if r := s.Command("postconf", "", args...); r.Exit != 0 {
					t.Fatalf("%s: postconf -e: %s", name(s), r.Stderr)
				}
				s.Backdate()
			})
			p.start()
			var got [2]string
			for i, s := range []*flowtest.System{p.ref, p.our} {
				send(t, s, "Subject: empty\nMessage-ID: <tables@example.org>\n\nbody\n", "root")
				s.WaitLog(tc.done, wait)
				got[i] = tableFate(t, s) + lineSet(tableLog(s, tc.done))
			}
			sameText(t, "log and fate", got[0], got[1])
		})
	}
}

// tableLog returns the lines of the daemons that search tables and of
// the mail flow up to the first that matches done, with the base
// directory written BASE. What follows is left out: pickup may try a
// message that cleanup could not take again at any later scan.
func tableLog(s *flowtest.System, done string) string {
	re := regexp.MustCompile(done)
	var out []string
	for _, line := range s.LogLines(`postfix/(pickup|cleanup|trivial-rewrite|qmgr|local|error|bounce)\[`) {
		out = append(out, strings.ReplaceAll(line, s.Base, "BASE"))
		if re.MatchString(line) {
			break
		}
	}
	return strings.Join(out, "\n")
}

// tableFate waits until no message is in the incoming or active queue
// and says where the message is: how many files each queue holds and
// whether root's mailbox exists.
func tableFate(t *testing.T, s *flowtest.System) string {
	t.Helper()
	count := func(q string) int {
		n := 0
		_ = filepath.WalkDir(filepath.Join(s.Queue, q), func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}
	deadline := time.Now().Add(wait)
	for count("incoming")+count("active") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: a message stays in incoming or active; log:\n%s", name(s), s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, err := os.Stat(filepath.Join(s.Spool, "root"))
	return fmt.Sprintf("maildrop=%d deferred=%d hold=%d mailbox=%v\n",
		count("maildrop"), count("deferred"), count("hold"), err == nil)
}
