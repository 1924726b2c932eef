package postdrop_test

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/testutil"
)

// recs builds a record stream; each item is a type letter and the data.
func recs(items ...string) []byte {
	var b bytes.Buffer
	w := record.NewWriter(&b)
	for _, it := range items {
		w.PutString(record.Type(it[0]), it[1:])
	}
	w.Flush()
	return b.Bytes()
}

// system is a queue directory and configuration for one postdrop.
type system struct{ etc, queue string }

func newSystem(t *testing.T, dir string) *system {
	t.Helper()
	s := &system{etc: filepath.Join(dir, "etc"), queue: filepath.Join(dir, "queue")}
	os.MkdirAll(s.etc, 0o755)
	text := "compatibility_level = 3.6\nqueue_directory = " + s.queue + "\n" +
		"data_directory = " + dir + "\nmyhostname = host.example.com\n" +
		"maillog_file_prefixes = " + dir + "\nmaillog_file = " + filepath.Join(dir, "maillog") + "\n"
	old := time.Now().Add(-time.Hour)
	for f, v := range map[string]string{"main.cf": text, "master.cf": ""} {
		p := filepath.Join(s.etc, f)
		os.WriteFile(p, []byte(v), 0o644)
		os.Chtimes(p, old, old)
	}
	for _, d := range []string{"", "maildrop", "public"} {
		os.MkdirAll(filepath.Join(s.queue, d), 0o755)
	}
	if u, err := user.Lookup("postfix"); err == nil {
		if g, err := user.LookupGroup("postdrop"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(g.Gid)
			os.Chown(filepath.Join(s.queue, "maildrop"), uid, gid)
			os.Chmod(filepath.Join(s.queue, "maildrop"), 0o730|os.ModeSticky)
		}
	}
	return s
}

func (s *system) files(t *testing.T) [][]byte {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.queue, "maildrop", "*"))
	var out [][]byte
	for _, n := range names {
		data, _ := os.ReadFile(n)
		st, _ := os.Stat(n)
		os.Remove(n)
		// Postfix leaves a refused request behind as an unfinished file
		// (mode 0644, ignored by pickup); ours removes it. Only finished
		// files count.
		if st.Mode().Perm() != 0o744 {
			continue
		}
		out = append(out, data)
	}
	return out
}

var idRE = regexp.MustCompile(`queue_id\x00[0-9A-Za-z]+\x00`)

// TestPostdropDifferential sends the same request to Debian's postdrop -r
// and ours: the replies (but the queue ID), exit status, diagnostics and
// the maildrop file (but its first, time, record) must be the same.
func TestPostdropDifferential(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postdrop")
	if os.Geteuid() != 0 {
		t.Skip("needs root: the maildrop directory belongs to postfix:postdrop")
	}
	ours := testutil.Bin(t, "postdrop")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	refSys := newSystem(t, filepath.Join(dir, "ref"))
	ourSys := newSystem(t, filepath.Join(dir, "ours"))
	cases := []struct {
		name string
		in   []byte
	}{
		{"normal", recs("Arewrite_context=local", "Froot", "Sroot", "Anotify_flags=2", "Rx@y", "M", "Nhi", "Lpart", "Nrest", "X", "Ry@z", "E")},
		{"attributes", recs("Aenvelope_id=abc", "Aret_flags=1", "Aencoding=8bit", "Aencoding=binary", "Atrace_flags=1024",
			"Arewrite_context=elsewhere", "Alog_ident=evil", "Ajunk", "A=x", "A  spaced =  value ", "Sroot", "Vab", "Rx", "M", "X", "Adsn_orig_rcpt=rfc822;x", "E")},
		{"time-record", recs("T1 2", "Sroot", "Rx", "M", "X", "E")},
		{"bad-type", recs("Sroot", "Rx", "Qx", "M", "X", "E")},
		{"content-in-envelope", recs("Sroot", "Nx", "M", "X", "E")},
		{"no-sender", recs("Rx", "M", "X", "E")},
		{"no-recipient", recs("Sroot", "M", "X", "E")},
		{"cancelled", recs("Sroot", "Rx", "M", "Nx")},
		{"empty", nil},
		{"truncated-data", append(recs("Sroot"), 'R', 10, 'a')},
		{"too-long", recs("Sroot", "R"+strings.Repeat("x", 3000), "M", "X", "E")},
		{"corrupt-length", append(recs("Sroot"), 'R', 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.Setenv("MAIL_CONFIG", refSys.etc)
			want := testutil.Run(t, dir, ref, "postdrop", tc.in, "-r")
			os.Setenv("MAIL_CONFIG", ourSys.etc)
			got := testutil.Run(t, dir, ours, "postdrop", tc.in, "-r")
			os.Unsetenv("MAIL_CONFIG")
			if got.Exit != want.Exit {
				t.Errorf("exit %d, Postfix %d", got.Exit, want.Exit)
			}
			g := idRE.ReplaceAllString(got.Stdout, "queue_id\x00ID\x00")
			w := idRE.ReplaceAllString(want.Stdout, "queue_id\x00ID\x00")
			if g != w {
				t.Errorf("reply %q, Postfix %q", g, w)
			}
			if got.Stderr != want.Stderr {
				t.Errorf("stderr %q, Postfix %q", got.Stderr, want.Stderr)
			}
			gf, wf := ourSys.files(t), refSys.files(t)
			if len(gf) != len(wf) {
				t.Fatalf("%d maildrop files, Postfix %d", len(gf), len(wf))
			}
			for i := range gf {
				if !bytes.Equal(skipTime(t, gf[i]), skipTime(t, wf[i])) {
					t.Errorf("file %q, Postfix %q", gf[i], wf[i])
				}
			}
		})
	}
}

func skipTime(t *testing.T, data []byte) []byte {
	t.Helper()
	r := record.NewReader(bytes.NewReader(data), 0)
	typ, _, err := r.Next()
	if err != nil || typ != record.Time {
		t.Fatalf("file does not start with T: %q", data)
	}
	return data[r.Offset():]
}

// TestSetgidConfigDir: installed set-gid postdrop, postdrop and postqueue
// refuse a configuration directory that the default main.cf does not
// authorize, with Postfix's words, when a user other than root runs them.
func TestSetgidConfigDir(t *testing.T) {
	testutil.Reference(t, "/usr/sbin/postdrop")
	if os.Geteuid() != 0 {
		t.Skip("needs root to install a set-gid copy and to run it as nobody")
	}
	nobody, err := user.Lookup("nobody")
	group, gerr := user.LookupGroup("postdrop")
	if err != nil || gerr != nil {
		t.Skip("no user nobody or group postdrop")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(group.Gid)
	dir := t.TempDir()
	// nobody must reach the programs: open the test's directories.
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	sys := newSystem(t, filepath.Join(dir, "sys"))
	for _, name := range []string{"postdrop", "postqueue"} {
		data, err := os.ReadFile(testutil.Bin(t, name))
		if err != nil {
			t.Fatal(err)
		}
		ours := filepath.Join(dir, name)
		os.WriteFile(ours, data, 0o755)
		os.Chown(ours, 0, gid)
		os.Chmod(ours, 0o755|os.ModeSetgid)
		args := []string{"-r"}
		if name == "postqueue" {
			args = []string{"-p"}
		}
		asRoot := false
		run := func(path string) (string, int) {
			cmd := exec.Command(path, args...)
			cmd.Args[0] = name
			cmd.Env = []string{"MAIL_CONFIG=" + sys.etc}
			if !asRoot {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: 65534}}
			}
			var se bytes.Buffer
			cmd.Stderr = &se
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return se.String(), code
		}
		wantErr, wantCode := run("/usr/sbin/" + name)
		gotErr, gotCode := run(ours)
		if gotErr != wantErr || gotCode != wantCode {
			t.Errorf("%s: exit %d %q, Postfix %d %q", name, gotCode, gotErr, wantCode, wantErr)
		}
		if !strings.Contains(wantErr, "unauthorized configuration directory name") {
			t.Errorf("Postfix's %s did not refuse: %q", name, wantErr)
		}
		// The super-user is trusted, set-gid or not.
		asRoot = true
		wantErr, wantCode = run("/usr/sbin/" + name)
		gotErr, gotCode = run(ours)
		if gotErr != wantErr || gotCode != wantCode || strings.Contains(gotErr, "unauthorized") {
			t.Errorf("%s as root: exit %d %q, Postfix %d %q", name, gotCode, gotErr, wantCode, wantErr)
		}
	}
}
