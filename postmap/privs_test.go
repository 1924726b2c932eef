package postmap_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// TestDiffDropPrivileges: run as root on a source file that "nobody" owns,
// both programs build the table as nobody (and so fail where nobody may
// not write); with -o they stay root.
func TestDiffDropPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
	const nobody = 65534
	ours := testutil.Bin(t, "postmap")
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	for _, c := range []struct {
		dirMode os.FileMode
		args    []string
	}{
		{0o755, []string{"src"}},
		{0o777, []string{"src"}},
		{0o755, []string{"-o", "src"}},
		{0o777, []string{"cdb:src"}},
	} {
		var owners [2]string
		var results [2]testutil.Result
		for i, prog := range []string{ref, ours} {
			d := t.TempDir()
			old := time.Now().Add(-time.Hour)
			for name, text := range map[string]string{"main.cf": "myhostname = test.example\n", "src": "a b\nc d\n"} {
				p := filepath.Join(d, name)
				os.WriteFile(p, []byte(text), 0o644)
				os.Chtimes(p, old, old)
			}
			os.Chown(filepath.Join(d, "src"), nobody, nobody)
			os.Chmod(d, c.dirMode)
			results[i] = testutil.Run(t, d, prog, "postmap", nil, append([]string{"-c", "."}, c.args...)...)
			owners[i] = "none"
			for _, f := range []string{"src.db", "src.cdb"} {
				if st, err := os.Stat(filepath.Join(d, f)); err == nil {
					s := st.Sys().(*syscall.Stat_t)
					owners[i] = fmt.Sprintf("%s uid=%d gid=%d %s", f, s.Uid, s.Gid, st.Mode())
				}
			}
		}
		if results[0].Stderr != results[1].Stderr || results[0].Exit != results[1].Exit || owners[0] != owners[1] {
			t.Errorf("dir %o, postmap %q:\npostfix: exit %d %q, %s\nours:    exit %d %q, %s", c.dirMode, c.args,
				results[0].Exit, results[0].Stderr, owners[0], results[1].Exit, results[1].Stderr, owners[1])
		}
	}
}
