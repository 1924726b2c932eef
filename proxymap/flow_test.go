package proxymap

import (
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// TestProxyTableFailureFlow: cleanup reads canonical_maps through
// proxymap and the table cannot be opened. Its open request (instance
// flags only) and its lookups (lock, UTF-8, folding) share one instance
// in proxymap, so Debian's Postfix and ours log the same lines: one
// "error:" when the instance is made, one "is unavailable" for the one
// lookup, cleanup's refusal and pickup's "error writing".
func TestProxyTableFailureFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Parallel()
	const extra = "canonical_maps = proxy:hash:$config_directory/missing\nproxy_read_maps = $canonical_maps\n"
	const done = `postfix/pickup\[\d+\]: warning: maildrop/\S+: error writing`
	var got [2]string
	for i, s := range []*flowtest.System{flowtest.NewReference(t, extra), flowtest.New(t, extra)} {
		s.Start()
		if r := s.Sendmail("Subject: proxy\n\nbody\n", "root"); r.Exit != 0 {
			t.Fatalf("sendmail: %+v", r)
		}
		s.WaitLog(done, 20*time.Second)
		// Up to pickup's first "error writing": pickup may try the
		// message again at any later trigger.
		var lines []string
		end := regexp.MustCompile(done)
		for _, l := range s.LogLines(`postfix/(proxymap|cleanup|pickup)\[`) {
			lines = append(lines, flowtest.Normalize(strings.ReplaceAll(l, s.Base, "BASE")))
			if end.MatchString(l) {
				break
			}
		}
		// The processes write concurrently: compare the lines as a set.
		sort.Strings(lines)
		got[i] = strings.Join(lines, "\n")
	}
	if got[0] != got[1] {
		t.Errorf("log lines differ\nPostfix:\n%s\nours:\n%s", got[0], got[1])
	}
	if n := strings.Count(got[1], "is unavailable"); n != 1 {
		t.Errorf("%d \"is unavailable\" lines, want 1:\n%s", n, got[1])
	}
}
