package conf

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// render prints a parse result the way the golden files hold it: entries,
// then warnings, then the error.
func renderMain(path string, data []byte) string {
	f, err := ParseMain(path, data)
	var b strings.Builder
	for _, e := range f.Entries {
		fmt.Fprintf(&b, "line %d: %s = %s\n", e.Line, e.Name, e.Value)
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(&b, "fatal: %s\n", err)
	}
	return b.String()
}

// TestMainGolden parses testdata/maincf/*.in and compares with *.ref.
func TestMainGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/maincf/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := renderMain(filepath.Base(in), data)
		ref := strings.TrimSuffix(in, ".in") + ".ref"
		if *update {
			os.WriteFile(ref, []byte(got), 0644)
			continue
		}
		want, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n--- want\n%s--- got\n%s", in, want, got)
		}
	}
}

func FuzzParseMain(f *testing.F) {
	ins, _ := filepath.Glob("testdata/maincf/*.in")
	for _, in := range ins {
		data, _ := os.ReadFile(in)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMain("main.cf", data)
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			if e.Name == "" || strings.ContainsAny(e.Name, " \t=") {
				t.Fatalf("bad name %q", e.Name)
			}
			if e.Value != strings.TrimSpace(e.Value) && !strings.ContainsAny(e.Value, "\v\f") {
				t.Fatalf("value not trimmed: %q", e.Value)
			}
		}
	})
}

// TestConfigComputedLoop: a main.cf whose mydomain refers to myhostname
// must not loop while myhostname's default is being computed.
func TestConfigComputedLoop(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "main.cf"), []byte("mydomain = $myhostname\nsmtpd_banner = $myhostname ESMTP\n"), 0644)
	c, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	h := c.Get("myhostname")
	if h == "" || c.Get("smtpd_banner") != h+" ESMTP" {
		t.Errorf("myhostname %q, smtpd_banner %q", h, c.Get("smtpd_banner"))
	}
	if c.Get("config_directory") != d {
		t.Errorf("config_directory = %q", c.Get("config_directory"))
	}
}

// TestForService: a daemon sees its service's -o overrides over main.cf,
// with $service_name and $process_name defined.
func TestForService(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, "main.cf"), []byte("smtpd_tls_security_level = may\nsyslog_name = postfix\n"), 0644)
	c, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := ParseMaster("master.cf", []byte("submission inet n - y - - smtpd\n  -o syslog_name=postfix/$service_name\n  -o smtpd_tls_security_level=encrypt\n"))
	if err != nil || len(mf.Entries) != 1 {
		t.Fatalf("master.cf: %v", err)
	}
	s := c.ForService(mf.Entries[0])
	for name, want := range map[string]string{
		"smtpd_tls_security_level": "encrypt", "syslog_name": "postfix/submission",
		"service_name": "submission", "process_name": "smtpd",
	} {
		if got := s.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := c.Get("smtpd_tls_security_level"); got != "may" {
		t.Errorf("main view changed: %q", got)
	}
}
