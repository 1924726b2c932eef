package smtpread

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/testutil"
)

// startReference starts Debian's Postfix 3.7 with an smtpd service on a
// free loopback port (plus the proxymap and anvil services smtpd uses,
// when master.cf lacks them) and returns the system and "127.0.0.1:PORT".
// Without root it skips or fails as flowtest.NewReference does.
func startReference(t *testing.T, extraMain string) (*flowtest.System, string) {
	t.Helper()
	s := flowtest.NewReference(t, extraMain)
	port := testutil.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	path := filepath.Join(s.Etc, "master.cf")
	master, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	extra := addr + " inet n - n - - smtpd\n"
	for _, svc := range []string{"proxymap unix - - n - - proxymap\n", "anvil unix - - n - 1 anvil\n"} {
		name := svc[:regexp.MustCompile(`\s`).FindStringIndex(svc)[0]]
		if !regexp.MustCompile(`(?m)^` + name + `\s+unix\s`).Match(master) {
			extra += svc
		}
	}
	if err := os.WriteFile(path, append(master, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Backdate()
	s.Start()
	return s, addr
}
