package flow

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// testUser makes a throw-away account whose home is home (created, owned
// by the account) and removes it when the test ends. It needs root.
func testUser(t *testing.T, home string) (string, int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("making a test account needs root")
	}
	name := fmt.Sprintf("pfgo%06d", rand.IntN(1000000))
	out, err := exec.Command("useradd", "-M", "-d", home, "-s", "/bin/sh", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(home, uid, gid); err != nil {
		t.Fatal(err)
	}
	return name, uid
}

// sendmail to a user with home_mailbox = Maildir/ and a .forward that
// keeps a copy in the Maildir and writes another to a file: both land,
// owned by the user, as with Postfix.
func TestHomeMaildirAndForward(t *testing.T) {
	t.Parallel()
	users := map[*flowtest.System]string{}
	uids := map[*flowtest.System]int{}
	p := newPair(t, "home_mailbox = Maildir/\n", func(s *flowtest.System) {
		home := filepath.Join(s.Base, "home")
		name, uid := testUser(t, home)
		users[s], uids[s] = name, uid
		fwd := filepath.Join(home, ".forward")
		if err := os.WriteFile(fwd, []byte("\\"+name+", "+home+"/copy.mbox\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(fwd, uid, -1); err != nil {
			t.Fatal(err)
		}
	})
	p.start()
	var got [2]string
	for i, s := range []*flowtest.System{p.ref, p.our} {
		u := users[s]
		send(t, s, "From: root\nTo: "+u+"\nSubject: home\nMessage-ID: <home@example.org>\n\nbody\n", u)
		s.WaitLog(`message-id=<home@example.org>`, wait)
		waitQuiet(t, s)
		home := filepath.Join(s.Base, "home")
		for _, f := range []string{"copy.mbox", "Maildir"} {
			st, err := os.Stat(filepath.Join(home, f))
			if err != nil {
				t.Errorf("%s: %v", name(s), err)
				continue
			}
			if int(st.Sys().(*syscall.Stat_t).Uid) != uids[s] {
				t.Errorf("%s: %s is not owned by %s", name(s), f, u)
			}
		}
		py := python(t, `
import mailbox, sys
for m in mailbox.Maildir(sys.argv[1], factory=None):
    print(m.as_string())
`, filepath.Join(home, "Maildir"))
		got[i] = strings.ReplaceAll(messages(p.file(s, "home/copy.mbox"))+"\n=== maildir\n"+normalize(py), u, "USER")
		got[i] += "\n" + strings.ReplaceAll(lineSet(logEvents(s)), u, "USER")
	}
	sameText(t, "deliveries", got[0], got[1])
}
