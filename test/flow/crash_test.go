package flow

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// daemons returns the process IDs of master's children running the
// named program.
func daemons(master int, prog string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || ppid(pid) != master {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if strings.TrimSpace(string(comm)) == prog {
			out = append(out, pid)
		}
	}
	return out
}

// Killing any daemon loses nothing: while messages are handed in, pickup,
// cleanup, trivial-rewrite, qmgr and local are killed again and again
// with SIGKILL; master restarts them, and every message is delivered.
func TestKillDaemonsLosesNothing(t *testing.T) {
	t.Parallel()
	s := flowtest.New(t, "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n"+
		"service_throttle_time = 1s\nhome_mailbox =\n")
	out := outDir(t, s)
	s.WriteFile("aliases", "postmaster: root\nsink: "+out+"/Maildir/\n")
	s.Start()
	master := s.MasterPID()
	const n = 40
	done := make(chan struct{})
	killed := map[string]int{}
	go func() {
		defer close(done)
		progs := []string{"pickup", "cleanup", "trivial-rewrite", "qmgr", "local"}
		for i := 0; i < n; i++ {
			r := s.Sendmail(fmt.Sprintf("Subject: crash %d\nMessage-ID: <crash%d@example.org>\n\nbody %d\n", i, i, i), "sink")
			if r.Exit != 0 {
				t.Errorf("sendmail %d: exit %d: %s", i, r.Exit, r.Stderr)
			}
			if i%3 == 0 {
				p := progs[(i/3)%len(progs)]
				for _, pid := range daemons(master, p) {
					if syscall.Kill(pid, syscall.SIGKILL) == nil {
						killed[p]++
					}
				}
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	<-done
	t.Logf("killed: %v", killed)
	// Every message must arrive, at least once.
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen := map[string]int{}
		for _, d := range []string{"new", "cur"} {
			ents, _ := os.ReadDir(filepath.Join(out, "Maildir", d))
			for _, e := range ents {
				b, err := os.ReadFile(filepath.Join(out, "Maildir", d, e.Name()))
				if err != nil {
					continue
				}
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "Message-ID: <crash") {
						seen[l]++
					}
				}
			}
		}
		if len(seen) == n {
			for id, c := range seen {
				if c > 1 {
					t.Logf("%s delivered %d times (a crash between delivery and its record, as in Postfix)", id, c)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			var missing []int
			for i := 0; i < n; i++ {
				if seen[fmt.Sprintf("Message-ID: <crash%d@example.org>", i)] == 0 {
					missing = append(missing, i)
				}
			}
			r := s.Command("postqueue", "", "-p")
			t.Fatalf("%d of %d messages delivered; missing %v\nqueue:\n%s\nlog:\n%s", len(seen), n, missing, r.Stdout, s.LogText())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, q := range []string{"corrupt"} {
		ents, _ := os.ReadDir(filepath.Join(s.Queue, q))
		if len(ents) != 0 {
			t.Errorf("%d files in %s after the crashes", len(ents), q)
		}
	}
}
