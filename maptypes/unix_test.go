package maptypes

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A unix: table keeps answering from the file as read last when the file
// can no longer be opened (a chrooted daemon), and sees a rewritten file.
func TestUnixTableFallsBackToLastCopy(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwd")
	if err := os.WriteFile(pw, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := PasswdFile
	PasswdFile = filepath.Join(dir, "none")
	tb, err := Open("unix:passwd.byname", FoldFixed)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Lookup("root"); !errors.Is(err, ErrRetry) {
		t.Errorf("no file, nothing read yet: err %v, want a temporary failure", err)
	}
	PasswdFile = pw
	tb, err = Open("proxy:unix:passwd.byname", FoldFixed)
	PasswdFile = old
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := tb.Lookup("ROOT"); !ok || err != nil || v != "root:x:0:0:root:/root:/bin/sh" {
		t.Errorf("lookup root: %q %v %v", v, ok, err)
	}
	if err := os.WriteFile(pw, []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := tb.Lookup("alice"); !ok {
		t.Errorf("a user added to the file is not seen")
	}
	if err := os.Remove(pw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"root", "alice"} {
		if _, ok, err := tb.Lookup(k); !ok || err != nil {
			t.Errorf("after the file went away: %s: %v %v", k, ok, err)
		}
	}
	if _, ok, err := tb.Lookup("bob"); ok || err != nil {
		t.Errorf("unknown user: %v %v", ok, err)
	}
}
