package flow

import (
	"os"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// The remaining tables of trivial-rewrite (sender-dependent transport
// and relayhost tables, the domain lists) and of local (the mailbox and
// fallback transport tables, mailbox_command_maps), unopenable, failing
// or with an empty result, compared with Postfix as TestTableFailures
// does: the daemons' log lines and the message's fate. Postfix's local
// opens its tables at the first delivery that needs them, so their
// "error:" line comes with that delivery.
func TestTableFailuresMore(t *testing.T) {
	t.Parallel()
	const deferred = `status=deferred`
	cases := []struct {
		name string
		main []string
		rcpt string
		done string
	}{
		{"sender_dependent_default_transport_maps unopenable",
			[]string{"sender_dependent_default_transport_maps = hash:$config_directory/missing"},
			"u@remote.example.test", deferred},
		{"sender_dependent_default_transport_maps empty result",
			[]string{"sender_dependent_default_transport_maps = regexp:$config_directory/any.regexp"},
			"u@remote.example.test", deferred},
		{"sender_dependent_relayhost_maps empty result",
			[]string{"sender_dependent_relayhost_maps = regexp:$config_directory/any.regexp"},
			"u@remote.example.test", deferred},
		{"sender_dependent_relayhost_maps failing",
			[]string{"sender_dependent_relayhost_maps = fail:relay"},
			"u@remote.example.test", deferred},
		// Not unopenable: fast_flush_domains defaults to
		// $relay_domains, and Postfix's cleanup, qmgr and error open
		// that list too (their "error:" lines are another matter).
		{"relay_domains failing", []string{"relay_domains = fail:relay"},
			"u@remote.example.test", deferred},
		{"virtual_mailbox_domains missing file", []string{"virtual_mailbox_domains = $config_directory/nofile"},
			"u@remote.example.test", deferred},
		{"mydestination failing", []string{"mydestination = fail:mydest"},
			"root", deferred},
		{"virtual_alias_domains unopenable", []string{"virtual_alias_domains = hash:$config_directory/missing"},
			"u@remote.example.test", deferred},
		{"virtual_mailbox_domains failing", []string{"virtual_mailbox_domains = fail:vmd"},
			"u@remote.example.test", deferred},
		{"mailbox_transport_maps unopenable", []string{"mailbox_transport_maps = hash:$config_directory/missing"},
			"root", deferred},
		{"mailbox_transport_maps empty result", []string{"mailbox_transport_maps = inline:{root=}"},
			"root", deferred},
		{"mailbox_command_maps failing", []string{"mailbox_command_maps = fail:cmd"},
			"root", deferred},
		{"fallback_transport_maps unopenable", []string{"fallback_transport_maps = hash:$config_directory/missing"},
			"nosuchuser", deferred},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			p := newPair(t, "", func(s *flowtest.System) {
				s.WriteFile("any.regexp", "/@/\n")
				args := append([]string{"-c", s.Etc, "-e"}, tc.main...)
				if r := s.Command("postconf", "", args...); r.Exit != 0 {
					t.Fatalf("%s: postconf -e: %s", name(s), r.Stderr)
				}
				s.Backdate()
			})
			p.start()
			var got [2]string
			for i, s := range []*flowtest.System{p.ref, p.our} {
				send(t, s, "Subject: tables\nMessage-ID: <tables2@example.org>\n\nbody\n", tc.rcpt)
				s.WaitLog(tc.done, wait)
				log := tableLog(s, tc.done)
				if s.Ref {
					// Postfix's qmgr logs the placeholder that
					// trivial-rewrite sends back with a failure
					// found before the recipient was settled
					// (mydestination); ours keeps the address.
					// qmgr's side, not compared here.
					log = strings.ReplaceAll(log, `to=<"NEXTRCPT NOT UPDATED">`, "to=<root@mx.example.test>")
				}
				got[i] = tableFate(t, s) + lineSet(log)
				if os.Getenv("PFGO_TABLES_DUMP") != "" {
					t.Logf("%s:\n%s", name(s), log)
				}
			}
			sameText(t, "log and fate", got[0], got[1])
		})
	}
}
