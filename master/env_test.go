package master

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// envOf connects to the tenv service and returns what the daemon reports:
// its runtime's GOMAXPROCS line and its environment, sorted.
func envOf(t *testing.T, s *system, service string) (procs string, env []string) {
	t.Helper()
	c := s.dial(service)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading from %s: %v", service, err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "procs=") {
		t.Fatalf("answer %q", b)
	}
	env = lines[1:]
	slices.Sort(env)
	return lines[0], env
}

// A daemon's environment is import_environment (names taken from master's
// own environment, name=value pairs as given), MAIL_CONFIG, MAIL_LOGTAG
// and GENERATION, as Postfix's master makes it, and GOMAXPROCS=1 so that
// the Go runtime starts with one processor, unless import_environment
// passes a GOMAXPROCS, which then wins.
func TestChildEnvironment(t *testing.T) {
	t.Parallel()
	base := "MAIL_CONFIG MAIL_LOGTAG TZ LANG=C GORACE FOO BAZ=qux"
	for _, c := range []struct {
		name      string
		imports   string // added to import_environment
		masterEnv string // GOMAXPROCS in master's own environment ("" = none)
		want      string // the child's GOMAXPROCS
	}{
		{"default", "", "", "1"},
		{"not imported", "", "3", "1"},
		{"imported but unset", "GOMAXPROCS", "", "1"},
		{"imported", "GOMAXPROCS", "3", "3"},
		{"given", "GOMAXPROCS=2", "3", "2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newSystem(t, "env unix - n n - 1 tenv\n", "import_environment = "+base+" "+c.imports+"\n")
			s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "TZ=UTC", "FOO=bar", "UNLISTED=x", "LANG=fr_FR.UTF-8"}
			if c.masterEnv != "" {
				s.env = append(s.env, "GOMAXPROCS="+c.masterEnv)
			}
			want := []string{"BAZ=qux", "FOO=bar", "GOMAXPROCS=" + c.want, "LANG=C", "MAIL_CONFIG=" + s.etc, "MAIL_LOGTAG=postfix", "TZ=UTC"}
			if v, ok := os.LookupEnv("GORACE"); ok {
				s.env = append(s.env, "GORACE="+v)
				want = append(want, "GORACE="+v)
			}
			s.start()
			procs, env := envOf(t, s, "env")
			if procs != "procs="+c.want {
				t.Errorf("daemon's runtime has %s, want %s", procs, c.want)
			}
			// GENERATION: master's generation, in octal.
			gen := slices.IndexFunc(env, func(e string) bool { return strings.HasPrefix(e, "GENERATION=") })
			if gen < 0 || !regexp.MustCompile(`^GENERATION=[0-7]+$`).MatchString(env[gen]) {
				t.Errorf("no GENERATION in %q", env)
			} else {
				env = slices.Delete(env, gen, gen+1)
			}
			slices.Sort(want)
			if !slices.Equal(env, want) {
				t.Errorf("daemon's environment\n%q\nwant\n%q", env, want)
			}
		})
	}
}

// Commands that a daemon runs do not see master's GOMAXPROCS: local gives
// a pipe delivery only export_environment (and its own variables), unless
// the administrator exports GOMAXPROCS. The whole system runs: sendmail,
// pickup, cleanup, qmgr and local under our master, to an "|env > file"
// alias.
func TestPipeCommandEnvironment(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		main  string
		local string // local's GOMAXPROCS
		want  string // the command's GOMAXPROCS line ("" = none)
	}{
		{"default", "", "GOMAXPROCS=1", ""},
		{"exported", "import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C GOMAXPROCS=2\n" +
			"export_environment = TZ MAIL_CONFIG LANG GOMAXPROCS\n", "GOMAXPROCS=2", "GOMAXPROCS=2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := flowtest.New(t, c.main)
			out := filepath.Join(s.Base, "out")
			if err := os.MkdirAll(out, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(out, 0o777); err != nil {
				t.Fatal(err)
			}
			s.WriteFile("aliases", "postmaster: root\nenvdump: \"|env > "+out+"/env\"\n")
			s.Start()
			if r := s.Sendmail("Subject: env\n\nbody\n", "envdump"); r.Exit != 0 {
				t.Fatalf("sendmail: exit %d: %s", r.Exit, r.Stderr)
			}
			line := s.WaitLog(`postfix/local\[\d+\]: .* status=sent \(delivered to command`, 30*time.Second)
			b, err := os.ReadFile(filepath.Join(out, "env"))
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "GOMAXPROCS=") {
					got = l
				}
			}
			if got != c.want {
				t.Errorf("the command's GOMAXPROCS: %q, want %q; environment:\n%s", got, c.want, b)
			}
			if !strings.Contains(string(b), "PATH=/usr/bin:/bin\n") {
				t.Errorf("the command's environment lacks local's PATH:\n%s", b)
			}
			// local itself, which master started, has master's GOMAXPROCS.
			pid := regexp.MustCompile(`local\[(\d+)\]`).FindStringSubmatch(line)[1]
			env, err := os.ReadFile("/proc/" + pid + "/environ")
			if err != nil {
				t.Fatalf("local's environment: %v", err)
			}
			if vars := strings.Split(string(env), "\x00"); !slices.Contains(vars, c.local) {
				t.Errorf("local's environment %q lacks %s", vars, c.local)
			}
		})
	}
}
