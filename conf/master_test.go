package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// renderMaster shows a parse the way "postconf -M" does: entries, then
// warnings, then the fatal error, each diagnostic with "postconf: ".
func renderMaster(path string, data []byte) string {
	mf, err := ParseMaster(path, data)
	var b strings.Builder
	if err == nil {
		for _, e := range mf.Entries {
			b.WriteString(e.Format(false))
		}
	}
	for _, w := range mf.Warnings {
		b.WriteString("postconf: warning: " + w + "\n")
	}
	if err != nil {
		b.WriteString("postconf: fatal: " + err.Error() + "\n")
	}
	return b.String()
}

// TestMasterGolden compares the parser with testdata/master/*.out, which
// hold what Debian's "postconf -M" printed for the .in files (with the file
// name replaced by FILE).
func TestMasterGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/master/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(in, ".in") + ".out")
		if err != nil {
			t.Fatal(err)
		}
		if got := renderMaster("FILE", data); got != string(want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", in, got, want)
		}
	}
}

func TestMasterEffective(t *testing.T) {
	mf, err := ParseMaster("m", []byte("smtp inet y - - - - smtpd\npickup unix n n y 60? 1 pickup\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := mf.Entries[0].Effective(100)
	if want := (MasterService{Private: false, Unpriv: true, Chroot: false, Maxproc: 100}); got != want {
		t.Errorf("smtp: got %+v want %+v", got, want)
	}
	got = mf.Entries[1].Effective(100)
	if want := (MasterService{Chroot: true, Wakeup: 60, WakeupIfUsed: true, Maxproc: 1}); got != want {
		t.Errorf("pickup: got %+v want %+v", got, want)
	}
}

func TestMasterEditKeepsBytes(t *testing.T) {
	src := "# c\nsmtp inet n - n - - smtpd\n  -o a=1\n# mid\n  -o b=2\nrelay unix - - n - - smtp\n# tail"
	mf, err := ParseMaster("m", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	same, err := mf.Edit(func(int, string, string) (MasterEditAction, string) { return EditKeep, "" }, "")
	if err != nil || string(same) != src {
		t.Fatalf("keep-all edit changed the file: %q %v", same, err)
	}
	out, _ := mf.Edit(func(i int, s, ty string) (MasterEditAction, string) {
		if s == "smtp" {
			return EditRewrite, "NEW\n"
		}
		return EditKeep, ""
	}, "")
	if want := "# c\n# mid\nNEW\nrelay unix - - n - - smtp\n# tail"; string(out) != want {
		t.Errorf("rewrite: got %q want %q", out, want)
	}
}

func TestWriteMasterFileKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "master.cf")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteMasterFile(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	b, _ := os.ReadFile(p)
	if st.Mode().Perm() != 0o600 || string(b) != "new" {
		t.Errorf("mode %v content %q", st.Mode().Perm(), b)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("temporary file left behind: %v", ents)
	}
}

// FuzzParseMaster checks that no input makes the parser or the printer
// panic, and that printed entries parse back to the same entries.
func FuzzParseMaster(f *testing.F) {
	ins, _ := filepath.Glob("testdata/master/*.in")
	for _, in := range ins {
		b, _ := os.ReadFile(in)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mf, err := ParseMaster("fuzz", data)
		if err != nil {
			return
		}
		for _, e := range mf.Entries {
			_ = e.Format(true)
			_ = FormatMasterField("x = ", append([]string{e.Command}, e.Args...), true)
		}
		_, _ = mf.Edit(func(i int, s, ty string) (MasterEditAction, string) {
			return MasterEditAction(i % 5), "x\n"
		}, "")
	})
}
