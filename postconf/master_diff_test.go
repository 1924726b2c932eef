package postconf

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	masterSeed = flag.Int64("master.seed", 1, "seed of the random master.cf property test")
	masterN    = flag.Int("master.n", 15, "number of random master.cf files to compare")
)

// masterCase is one differential run: files, then postconf arguments
// (without -c).
type masterCase struct {
	name, main, master string
	args               []string
}

func writeMasterCase(t *testing.T, c masterCase) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(c.main), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(c.master), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkMasterCase runs one case and returns Postfix's exit status. (Postfix
// sleeps one second before a fatal exit, so tests keep fatal cases few.)
func checkMasterCase(t *testing.T, c masterCase) int {
	t.Helper()
	ref, ours := runBoth(t, writeMasterCase(t, c), c.args...)
	if d := diffResults(ref, ours); d != "" {
		t.Errorf("%s: postconf %q:\n%s", c.name, c.args, d)
	}
	return ref.Exit
}

func debianMaster(t *testing.T) string {
	b, err := os.ReadFile("testdata/master/debian-master.cf")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMasterDiffDebian runs every show mode on Debian's stock master.cf.
func TestMasterDiffDebian(t *testing.T) {
	m := debianMaster(t)
	for _, a := range [][]string{
		{"-M"}, {"-Mf"}, {"-F"}, {"-Ff"}, {"-Fh"}, {"-FH"}, {"-Ffh"}, {"-P"}, {"-Pf"}, {"-Ph"}, {"-PH"},
		{"-Mx"}, {"-Px"}, {"-Fx"}, {"-M", "smtp"}, {"-M", "smtp/unix"}, {"-M", "*/unix"}, {"-M", "smtp/"},
		{"-M", "nosuch", "relay"}, {"-F", "*/*/command"}, {"-F", "relay/unix/private"}, {"-P", "relay"},
		{"-P", "*/*/syslog_name"}, {"-M", "/unix"}, {"-F", "a/b/bogus"}, {"-P", "a/b/c/d"}, {"-Fd"},
	} {
		checkMasterCase(t, masterCase{name: "debian", master: m, args: a})
	}
}

// TestMasterDiffEdits compares whole files after every kind of edit.
func TestMasterDiffEdits(t *testing.T) {
	deb := debianMaster(t)
	tricky := "# head\nsmtp inet n - n - - smtpd\n  -o smtpd_banner=1   # x\n# mid comment\n\n  -o syslog_name=2\nrelay unix - - n - - smtp\n# tail\n"
	short := "smtp inet n - n - - smtpd -o smtpd_banner=1 -v x -o syslog_name=2\nrelay unix - - n - - smtp"
	dups := "a unix - - n - - x\nb unix - - n - - y\na unix - - n - - z\n"
	for _, a := range [][]string{
		{"-Me", "relay/unix=relay unix - - y - -"}, {"-Me", "relay=relay unix - - y - - x"},
		{"-MX", "relay"}, {"-MX", "relay/unix=3"}, {"-F", "relay/unix/wakeup=x"},
		{"-F", "relay/unix/bogus=1"}, {"-F", "relay/unix=1"},
	} {
		checkMasterCase(t, masterCase{name: "bad edit", master: short, args: a})
	}
	for _, m := range []string{deb, tricky, short, dups} {
		for _, a := range [][]string{
			{"-Me", "relay/unix=relay unix - - y - - smtp -o syslog_name=x"},
			{"-M", "new/unix=new unix - - y - - smtp -o smtp_helo_name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa x y z"},
			{"-Me", "smtp/inet=smtp inet n - n - - smtpd"},
			{"-Me", "a/unix=a unix - - - - - new"},
			{"-Me", "b/unix=a unix - - - - - new"},
			{"-MX", "smtp/inet"}, {"-MX", "relay/unix", "nosuch/unix"}, {"-MX", "a/unix"}, {"-M#", "smtp/inet"}, {"-M#", "a/unix"},
			{"-Fe", "smtp/inet/chroot=y"}, {"-F", "relay/unix/service=foo"}, {"-F", "relay/unix/type=inet"},
			{"-F", "relay/unix/command=pipe -o syslog_name=y  flags=x"}, {"-F", "relay/unix/wakeup="},
			{"-F", "nosuch/unix/chroot=y"}, {"-Fe", "a/unix/chroot=y"},
			{"-Pe", "smtp/inet/smtpd_banner=9"}, {"-P", "smtp/inet/c=3"}, {"-P", "relay/unix/a=x y"},
			{"-PX", "smtp/inet/smtpd_banner"}, {"-PX", "relay/unix/a"}, {"-Pe", "a/unix/p=1"},
		} {
			checkMasterCase(t, masterCase{name: "edit", master: m, args: a})
		}
	}
}

// TestMasterDiffSyntax covers master.cf syntax forms and bad input.
func TestMasterDiffSyntax(t *testing.T) {
	for _, m := range []string{
		"smtp inet n - n - - \n", "smtp\n", " smtp inet n - n - - smtpd\n",
		"a unix - - n - - x\nsmtp inet n\n  - n\n\n - -\n",
		"smtp foo n - n - - smtpd\n", "smtp inet q - n - - smtpd\n",
		"smtp   foo\tn - n\n   - - smtpd  x\n", "smtp foo n - n - - x\xc3\xa9\x01\n",
		"smtp inet n - n\n# comment\n - - smtpd\n", "smtp inet n - n\n   # c\n - - smtpd\n",
		"svc inet n - n 10?x - cmd\n", "svc inet n - n - -1 cmd\n", "svc unix - - - ? 00 cmd\n",
		"svc unix - - - - x pipe -o {a\n", "a\n  unix - - n - - x\n",
		"svc unix - n n - - pipe {x y} z\n", "svc unix - n n - - pipe z {x y}\n",
		"svc unix - n n - - pipe -v {x y} z\n", "svc unix - n n - - pipe {a b}c\n",
		"{p q} inet n - n - - z\n", "svc unix - n n - - pipe -o {syslog_name=b} -o {c d}\n",
		"svc unix - n n - - pipe -o -o a=b\n", "svc unix - n n - - pipe - { a = b } y\n",
		"svc unix - n n - - smtpd -o {} -o { } -o {=} -o { syslog_name = } x -o c=d\n",
		"svc unix - n n - - smtpd -v -D -osmtpd_banner=b -s 5 -vo c=d -- -o e=f\n",
		"[::1]:25 inet n - n - - smtpd -o {smtpd_banner = a b c}\n127.0.0.1:smtp inet n - n - - smtpd\n",
		"p unix-dgram - - - - - x\nq fifo - - - - - x\nr pass - - - - - x\n",
		"relay unix - - n - - smtp -o smtp_helo_name=$foo -o syslog_name=postfix/$service_name -o smtpd_banner=${foo}x$undefined\n",
		"relay unix - - n - - smtp -o relay_destination_concurrency_limit=1 -o zz=$relay_foo\n",
		"x unix - n n - - pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient} aaaa bbbbbbbbbb cccccccc dddddddd eeeeeeeeee fffff\n",
	} {
		for _, a := range [][]string{{"-M"}, {"-Mf"}, {"-F"}, {"-Ffh"}, {"-P"}, {"-Pfx"}, {"-Mx"}} {
			if checkMasterCase(t, masterCase{name: "syntax", main: "foo = F$bar\nbar = B\n", master: m, args: a}) != 0 {
				break // the other modes fail the same way
			}
		}
	}
	checkMasterCase(t, masterCase{name: "no main.cf", master: "", args: []string{"-M"}})
}

// randomMaster generates a master.cf from a small vocabulary that covers
// the layout rules: long names, continuation lines, comments, braces, -o.
func randomMaster(r *rand.Rand) string {
	pick := func(s ...string) string { return s[r.Intn(len(s))] }
	word := func() string {
		n := 1 + r.Intn(12)
		if r.Intn(8) == 0 {
			n += 30 + r.Intn(40)
		}
		return strings.Repeat(pick("a", "b", "x"), n)
	}
	var b strings.Builder
	for i, n := 0, 1+r.Intn(6); i < n; i++ {
		if r.Intn(4) == 0 {
			b.WriteString(pick("# comment\n", "\n", "   \n", "  # indented\n"))
		}
		fields := []string{pick("smtp", "relay", "x", "127.0.0.1:smtp", "[::1]:10025", word()),
			pick("inet", "unix", "unix-dgram", "fifo", "pass"), pick("-", "y", "n"), pick("-", "y", "n"),
			pick("-", "y", "n"), pick("-", "0", "60", "1000?"), pick("-", "0", "1", "100"),
			pick("smtpd", "smtp", "pipe", "local", "spawn", word())}
		sep := func() string { return pick(" ", "  ", "\t", "\n  ", "\n\t") }
		b.WriteString(fields[0] + " " + fields[1])
		for _, f := range fields[2:] {
			b.WriteString(sep() + f)
		}
		for j, m := 0, r.Intn(6); j < m; j++ {
			b.WriteString(sep())
			switch r.Intn(6) {
			case 0:
				b.WriteString("-o " + pick("syslog_name", "smtpd_banner", "smtp_helo_name", "relay_foo") + "=" + pick("", "a", "$myhostname", word()))
			case 1:
				b.WriteString("-o { " + pick("smtpd_banner", "syslog_name") + " = " + word() + " " + word() + " }")
			case 2:
				b.WriteString(pick("-v", "-D", "--", "flags=R", "user=x"))
			case 3:
				b.WriteString("{ " + word() + " " + word() + " }")
			default:
				b.WriteString(word())
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestMasterDiffRandom compares -M, -Mf, -F, -Ff, -P and -Pf output on
// generated files (seed -master.seed, count -master.n).
func TestMasterDiffRandom(t *testing.T) {
	r := rand.New(rand.NewSource(*masterSeed))
	for i := 0; i < *masterN; i++ {
		m := randomMaster(r)
		for _, a := range [][]string{{"-M"}, {"-Mf"}, {"-F"}, {"-Ff"}, {"-P"}, {"-Pf"}} {
			checkMasterCase(t, masterCase{name: fmt.Sprintf("random #%d", i), master: m, args: a})
			if t.Failed() {
				t.Fatalf("master.cf was:\n%s", m)
			}
		}
	}
}
