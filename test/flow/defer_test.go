package flow

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// writeScript writes an executable shell script into the base directory.
func writeScript(t *testing.T, s *flowtest.System, name, text string) string {
	t.Helper()
	p := filepath.Join(s.Base, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+text), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// outDir makes BASE/out writable by the default_privs user that runs
// alias commands.
func outDir(t *testing.T, s *flowtest.System) string {
	t.Helper()
	d := filepath.Join(s.Base, "out")
	if err := os.MkdirAll(d, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// A temporary failure defers the message; mailq shows it with its reason;
// after the cause is fixed, `postfix flush` delivers it at once.
func TestDeferThenFlush(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", func(s *flowtest.System) {
		out := outDir(t, s)
		script := writeScript(t, s, "tmpfail.sh",
			"if [ -e "+out+"/ok ]; then cat > "+out+"/delivered; exit 0; fi\necho not yet; exit 75\n")
		s.WriteFile("aliases", "postmaster: root\nlater: \"|"+script+"\"\n")
	})
	p.start()
	msg := "Subject: later\nMessage-ID: <later@example.org>\n\nbody\n"
	var q [2]string
	for i, s := range []*flowtest.System{p.ref, p.our} {
		send(t, s, msg, "later")
		s.WaitLog(`status=deferred`, wait)
		waitQuiet(t, s)
		q[i] = s.Command("postqueue", "", "-p").Stdout
	}
	sameText(t, "mailq", q[0], q[1])
	p.each(func(s *flowtest.System) {
		if err := os.WriteFile(filepath.Join(s.Base, "out", "ok"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := s.Command("postfix", "", "-c", s.Etc, "flush"); r.Exit != 0 {
			t.Errorf("%s: postfix flush: exit %d: %s", name(s), r.Exit, r.Stderr)
		}
		// The default minimal_backoff_time is 300s: only the flush can
		// bring the message back this soon.
		s.WaitLog(`status=sent \(delivered to command`, 15*time.Second)
		waitQuiet(t, s)
		if r := s.Command("postqueue", "", "-p"); r.Stdout != "Mail queue is empty\n" {
			t.Errorf("%s: queue after flush:\n%s", name(s), r.Stdout)
		}
	})
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
	sameText(t, "delivered", p.file(p.ref, "out/delivered"), p.file(p.our, "out/delivered"))
}

// ppid returns the parent process of pid.
func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, _ := strconv.Atoi(f[1])
	return n
}

// Killing the delivery agent in the middle of a delivery loses nothing:
// master logs the death and starts a new agent, the queue manager defers
// the message, and the retry delivers it exactly once.
func TestKillAgentMidDelivery(t *testing.T) {
	t.Parallel()
	p := newPair(t, "minimal_backoff_time = 2s\nmaximal_backoff_time = 4s\nqueue_run_delay = 1s\n"+
		"service_throttle_time = 2s\n",
		func(s *flowtest.System) {
			out := outDir(t, s)
			// The first attempt leaves its pid and waits to be killed;
			// the second delivers.
			script := writeScript(t, s, "slow.sh", "if [ -e "+out+"/pid ]; then cat >> "+out+"/delivered; exit 0; fi\n"+
				"echo $$ > "+out+"/pid.tmp; mv "+out+"/pid.tmp "+out+"/pid; sleep 30; exit 75\n")
			s.WriteFile("aliases", "postmaster: root\nslow: \"|"+script+"\"\n")
		})
	p.start()
	p.each(func(s *flowtest.System) {
		send(t, s, "Subject: slow\nMessage-ID: <slow@example.org>\n\nonce only\n", "slow")
	})
	p.each(func(s *flowtest.System) {
		pidText := waitFile(t, filepath.Join(s.Base, "out", "pid"), wait, func(c string) bool { return strings.HasSuffix(c, "\n") })
		script, _ := strconv.Atoi(strings.TrimSpace(pidText))
		agent := ppid(script)
		if agent == 0 || agent == 1 {
			t.Fatalf("%s: no delivery agent above the script (pid %d)", name(s), script)
		}
		// Kill the agent and its command together, as a crash would.
		_ = syscall.Kill(agent, syscall.SIGKILL)
		_ = syscall.Kill(script, syscall.SIGKILL)
		s.WaitLog(`warning: process \S+/local pid \d+ killed by signal 9`, wait)
		s.WaitLog(`status=sent \(delivered to command`, wait)
		waitQuiet(t, s)
		if got := readFile(t, filepath.Join(s.Base, "out", "delivered")); strings.Count(got, "once only") != 1 {
			t.Errorf("%s: delivered %d times:\n%s", name(s), strings.Count(got, "once only"), got)
		}
	})
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
}
