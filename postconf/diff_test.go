package postconf_test

// Differential tests: Debian's /usr/sbin/postconf and ours run on copies
// of the same configuration directory with the same arguments; stdout, the
// exit status, the resulting main.cf and master.cf, and the set of
// diagnostic lines must agree. The only differences tolerated are those
// listed in doc/DIFFERENCES.md: warning order and repetition (Postfix walks
// hash tables in random order and repeats some warnings a varying number of
// times) and the process_id value.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

const refPostconf = "/usr/sbin/postconf"

// confDir writes main.cf and master.cf (nil: leave out) into a new dir.
func confDir(t testing.TB, mainCF, masterCF *string) string {
	t.Helper()
	d := t.TempDir()
	if mainCF != nil {
		if err := os.WriteFile(filepath.Join(d, "main.cf"), []byte(*mainCF), 0644); err != nil {
			t.Fatal(err)
		}
	}
	if masterCF != nil {
		if err := os.WriteFile(filepath.Join(d, "master.cf"), []byte(*masterCF), 0644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func copyDir(t testing.TB, src string) string {
	t.Helper()
	d := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(d, e.Name())
		if err := os.WriteFile(dst, b, 0644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses for up to a second when main.cf is younger than
		// that (it might still be being written); age the copies.
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(dst, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

var processID = regexp.MustCompile(`(?m)^(process_id = )\d+$`)

// normStderr folds the diagnostics into a sorted set of distinct lines,
// with the config directory replaced by "DIR".
func normStderr(s, dir string) string {
	s = strings.ReplaceAll(s, dir, "DIR")
	seen := map[string]bool{}
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" && !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// maskPID hides the line that is just the program's process id (process_id
// shown with -h).
func maskPID(out string, pid int) string {
	return strings.Replace(out, fmt.Sprintf("\n%d\n", pid), "\nPID\n", 1)
}

func readOpt(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// diffRun runs both programs on copies of dir and reports any difference.
// It returns false when they differed.
func diffRun(t testing.TB, dir string, stdin []byte, args ...string) bool {
	t.Helper()
	ours := testutil.Bin(t, "postconf")
	ref := testutil.Reference(t, refPostconf)
	dr, do := copyDir(t, dir), copyDir(t, dir)
	sub := func(d string) []string {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = strings.ReplaceAll(a, "@DIR@", d)
		}
		return out
	}
	rr := testutil.Run(t, dr, ref, "postconf", stdin, sub(dr)...)
	ro := testutil.Run(t, do, ours, "postconf", stdin, sub(do)...)
	ok := true
	report := func(what, want, got string) {
		ok = false
		t.Errorf("postconf %q: %s differs\n%s", args, what, lineDiff(want, got))
	}
	so := maskPID(processID.ReplaceAllString(strings.ReplaceAll(ro.Stdout, do, "DIR"), "${1}N"), ro.Pid)
	sr := maskPID(processID.ReplaceAllString(strings.ReplaceAll(rr.Stdout, dr, "DIR"), "${1}N"), rr.Pid)
	if so != sr {
		report("stdout", sr, so)
	}
	er, eo := normStderr(rr.Stderr, dr), normStderr(ro.Stderr, do)
	// When a configuration holds several fatal errors, which one Postfix
	// meets first depends on its hash-table order, which changes from run
	// to run: then both must fail, but the messages may differ.
	bothFatal := rr.Exit != 0 && ro.Exit != 0 && strings.Contains(er, ": fatal: ") && strings.Contains(eo, ": fatal: ")
	if er != eo && !(bothFatal && strings.HasPrefix(t.Name(), "TestDiffRandom")) {
		report("stderr", er, eo)
	}
	if rr.Exit != ro.Exit {
		report("exit status", string(rune('0'+rr.Exit)), string(rune('0'+ro.Exit)))
	}
	for _, f := range []string{"main.cf", "master.cf"} {
		if a, b := readOpt(filepath.Join(dr, f)), readOpt(filepath.Join(do, f)); a != strings.ReplaceAll(b, do, dr) {
			report(f+" after the run", fmt.Sprintf("%q", a), fmt.Sprintf("%q", b))
		}
	}
	return ok
}

// lineDiff shows the lines only one side has (at most 30), in order.
func lineDiff(want, got string) string {
	if !strings.Contains(want+got, "\n") {
		return "--- postfix: " + want + "\n--- ours:    " + got
	}
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	inW, inG := map[string]int{}, map[string]int{}
	for _, l := range wl {
		inW[l]++
	}
	for _, l := range gl {
		inG[l]++
	}
	var b strings.Builder
	n := 0
	for _, l := range wl {
		if inG[l] == 0 && n < 30 {
			b.WriteString("- " + l + "\n")
			n++
		}
	}
	for _, l := range gl {
		if inW[l] == 0 && n < 30 {
			b.WriteString("+ " + l + "\n")
			n++
		}
	}
	if n == 0 {
		b.WriteString("(same lines, different order or count)\n")
	}
	return b.String()
}

func ptr(s string) *string { return &s }

// diffCase runs diffRun as a parallel subtest: most of the time goes to
// starting processes, so cases overlap well.
func diffCase(t *testing.T, dir string, args ...string) {
	t.Helper()
	t.Run(strings.Join(args, " "), func(t *testing.T) {
		t.Parallel()
		diffRun(t, dir, nil, args...)
	})
}

func debianDir(t testing.TB) string {
	t.Helper()
	return copyDir(t, "testdata/debian")
}

// Modes with no arguments on Debian's stock configuration.
func TestDiffDebianStock(t *testing.T) {
	d := debianDir(t)
	for _, args := range [][]string{
		{}, {"-n"}, {"-d"}, {"-x"}, {"-nx"}, {"-dx"}, {"-f"}, {"-nf"}, {"-df"}, {"-h", "mail_name", "myhostname", "relayhost", "mynetworks"}, {"-H"}, {"-nh"}, {"-nH"},
		{"-p"}, {"-C", "builtin"}, {"-C", "service"}, {"-C", "user"}, {"-C", "builtin,user", "-n"}, {"-C", "all"},
		{"-C", "bogus"}, {"-l"}, {"-a"}, {"-A"}, {"-t"}, {"-b"},
		{"myhostname", "mydomain", "mynetworks", "mydestination", "nosuch"},
		{"-d", "myhostname", "mydomain", "mynetworks", "relay_destination_concurrency_limit"},
		{"-x", "smtpd_banner", "relay_domains", "append_dot_mydomain"},
		{"-o", "compatibility_level=0", "-x", "append_dot_mydomain", "relay_domains", "smtputf8_enable"},
		{"-o", "stress=yes", "-x", "smtpd_timeout", "smtpd_hard_error_limit"},
		{"-o", "bad"},
	} {
		diffCase(t, d, append([]string{"-c", "@DIR@"}, args...)...)
	}
}

// Option parsing and conflicts.
func TestDiffOptions(t *testing.T) {
	d := confDir(t, ptr("relayhost = x\n"), ptr(""))
	letters := []string{"a", "A", "b", "d", "e", "f", "F", "h", "H", "l", "m", "M", "n", "p", "P", "t", "x", "X", "#"}
	for i, a := range letters {
		for _, b := range letters[i+1:] {
			diffCase(t, d, "-c", "@DIR@", "-"+a, "-"+b)
		}
	}
	for _, args := range [][]string{
		{"-z"}, {"-c"}, {"-o"}, {"-a", "-d", "-e"}, {"-d", "-e", "-n"}, {"-X", "-#", "-d"}, {"-b", "-t", "-m"},
		{"-e"}, {"-X"}, {"-#"}, {"relayhost", "-n"}, {"--", "relayhost"}, {"-nfx"},
	} {
		diffCase(t, d, append([]string{"-c", "@DIR@"}, args...)...)
	}
}

// postconf -m lists the table types this project can open: the same as
// Debian's postconf with the postfix-cdb, postfix-lmdb and postfix-pcre
// packages installed (test/deps.sh installs them).
func TestMapTypes(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postconf")
	want := testutil.Run(t, t.TempDir(), ref, "postconf", nil, "-m")
	r := testutil.Run(t, t.TempDir(), testutil.Bin(t, "postconf"), "postconf", nil, "-m")
	if r.Stdout != want.Stdout || r.Exit != 0 || want.Exit != 0 {
		t.Errorf("postconf -m:\n%s(exit %d), want\n%s(exit %d)", r.Stdout, r.Exit, want.Stdout, want.Exit)
	}
}
