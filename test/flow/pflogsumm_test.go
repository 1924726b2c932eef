package flow

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// pflogsumm reads our log as it reads Postfix's: the same mixed workload
// (deliveries, a forward, a bounce, a deferral, a reject, a hold) gives
// the same report.
func TestPflogsumm(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("pflogsumm"); err != nil {
		t.Fatal("pflogsumm is missing; make test installs it as root")
	}
	p := newPair(t, "header_checks = regexp:$config_directory/header_checks\n", func(s *flowtest.System) {
		out := outDir(t, s)
		later := writeScript(t, s, "later.sh", "echo not yet; exit 75\n")
		s.WriteFile("header_checks", "/^Subject: reject me/ REJECT not wanted\n/^Subject: hold me/ HOLD review\n")
		s.WriteFile("aliases", "postmaster: root\nfailer: \"|exit 1\"\nlater: \"|"+later+"\"\n"+
			"team: root, "+out+"/team.mbox\n")
	})
	p.start()
	var report [2]string
	for i, s := range []*flowtest.System{p.ref, p.our} {
		for _, m := range []struct{ subj, from, to string }{
			{"one", "alice@example.org", "root"},
			{"two", "bob@example.org", "root"},
			{"three", "alice@example.org", "team"},
			{"fail", "carol@example.org", "failer"},
			{"later", "alice@example.org", "later"},
			{"reject me", "dave@example.org", "root"},
			{"hold me", "erin@example.org", "root"},
		} {
			send(t, s, "Subject: "+m.subj+"\n\nbody of "+m.subj+"\n", "-f", m.from, m.to)
		}
		s.WaitLog(`status=deferred`, wait)
		waitQuiet(t, s)
		out, err := exec.Command("pflogsumm", "--zero_fill", "--problems_first", s.Log).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: pflogsumm: %v\n%s", name(s), err, out)
		}
		report[i] = pflogNormalize(strings.ReplaceAll(string(out), s.Base, "BASE"))
	}
	if !strings.Contains(report[1], "delivered") {
		t.Fatalf("pflogsumm report of our log has no deliveries:\n%s", report[1])
	}
	sameText(t, "pflogsumm report", report[0], report[1])
}

// pflogNormalize drops what depends on the moment: the per-hour and
// per-day tables and the date line.
func pflogNormalize(s string) string {
	var out []string
	skip := false
	for _, l := range strings.Split(s, "\n") {
		switch {
		case strings.HasPrefix(l, "Per-Hour Traffic Summary"), strings.HasPrefix(l, "Per-Day Traffic Summary"):
			skip = true
		case skip && l == "":
			skip = false
		case skip:
		default:
			out = append(out, l)
		}
	}
	s = strings.Join(out, "\n")
	// Delivery delays (average and maximum) vary from run to run.
	s = regexp.MustCompile(`\d+\.\d (s|m|h)\b`).ReplaceAllString(s, "N.N $1")
	s = regexp.MustCompile(`Postfix log summaries for .*`).ReplaceAllString(s, "Postfix log summaries for DATE")
	return s
}
