package conf

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/testutil"
)

// postconfDefaults runs the real "postconf -c DIR -d" on a configuration
// directory holding main.cf and master.cf with the given contents.
func postconfDefaults(t *testing.T, mainCf, masterCf string) map[string]string {
	t.Helper()
	ref := testutil.Reference(t, "/usr/sbin/postconf")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.cf"), mainCf)
	writeFile(t, filepath.Join(dir, "master.cf"), masterCf)
	r := testutil.Run(t, dir, ref, "postconf", nil, "-c", dir, "-d")
	if r.Exit != 0 || r.Stderr != "" {
		t.Fatalf("postconf -d: exit %d: %s", r.Exit, r.Stderr)
	}
	return parseNameValues(t, r.Stdout)
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func parseNameValues(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " =")
		if !ok {
			t.Fatalf("unexpected postconf line %q", sc.Text())
		}
		m[name] = strings.TrimPrefix(value, " ")
	}
	return m
}

// TestRegistryMatchesPostconf checks every built-in name and default
// against the real postconf -d (computed defaults are checked in
// computed_test.go).
func TestRegistryMatchesPostconf(t *testing.T) {
	t.Parallel()
	want := postconfDefaults(t, "", "")
	got := Params()
	if len(got) != len(want) {
		t.Errorf("registry has %d parameters, postconf -d %d", len(got), len(want))
	}
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Name < got[j].Name }) {
		t.Error("Params() is not sorted by name")
	}
	for _, p := range got {
		w, ok := want[p.Name]
		switch {
		case !ok:
			t.Errorf("%s: not known to postconf", p.Name)
		case p.Computed:
			if p.Default != "" {
				t.Errorf("%s: computed parameter stores default %q", p.Name, p.Default)
			}
		case p.Default != w:
			t.Errorf("%s: default %q, postconf -d says %q", p.Name, p.Default, w)
		}
		if q, ok := LookupParam(p.Name); !ok || q != p {
			t.Errorf("LookupParam(%q) = %+v, %v", p.Name, q, ok)
		}
	}
	for name := range want {
		if _, ok := LookupParam(name); !ok {
			t.Errorf("%s: missing from the registry", name)
		}
	}
	if _, ok := LookupParam("no_such_parameter"); ok {
		t.Error("LookupParam found an unknown name")
	}
}

// paramSummary is one line of testdata/params/types.golden.
func paramSummary(p Param) string {
	s := p.Name + " " + p.Type.String()
	if p.TimeUnit != 0 {
		s += " " + string(p.TimeUnit)
	}
	if p.Computed {
		s += " computed"
	}
	if p.Raw {
		s += " raw"
	}
	if p.ReadOnly {
		s += " read-only"
	}
	return s
}

// TestRegistryTypesGolden pins every parameter's type (the generator's
// own test checks that it infers the same golden file).
func TestRegistryTypesGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/params/types.golden")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range Params() {
		lines = append(lines, paramSummary(p))
	}
	got := strings.Join(lines, "\n") + "\n"
	if got != string(data) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(data), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("line %d: got %q, golden %q", i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("got %d lines, golden %d", len(gl), len(wl))
	}
	// Spot checks of the inference rules.
	for name, want := range map[string]string{
		"append_dot_mydomain":          "append_dot_mydomain bool",
		"smtpd_timeout":                "smtpd_timeout time s",
		"maximal_queue_lifetime":       "maximal_queue_lifetime time d",
		"message_size_limit":           "message_size_limit long",
		"smtpd_hard_error_limit":       "smtpd_hard_error_limit int",
		"postscreen_enforce_tls":       "postscreen_enforce_tls bool",
		"smtpd_recipient_restrictions": "smtpd_recipient_restrictions list",
		"mynetworks":                   "mynetworks list computed",
		"process_id":                   "process_id int computed read-only",
		"forward_path":                 "forward_path list raw",
		"myorigin":                     "myorigin string",
	} {
		p, _ := LookupParam(name)
		if got := paramSummary(p); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestServiceParams compares the master.cf-derived parameters with what
// the real postconf -d adds for the same master.cf.
func TestServiceParams(t *testing.T) {
	t.Parallel()
	services := [][2]string{
		{"smtp", "smtp"}, {"relay", "smtp"}, {"lmtp", "lmtp"}, {"local", "local"},
		{"virtual", "virtual"}, {"error", "error"}, {"retry", "error"},
		{"uucp", "pipe"}, {"spawner", "spawn"}, {"discard", "discard"},
		{"smtpd2", "smtpd"}, {"full", "/usr/lib/postfix/sbin/smtp"},
		{"scalemail-backend", "pipe"},
	}
	var master strings.Builder
	for _, s := range services {
		master.WriteString(s[0] + " unix - - n - - " + s[1] + "\n")
	}
	got := postconfDefaults(t, "", master.String())
	base := map[string]bool{}
	for _, p := range Params() {
		base[p.Name] = true
	}
	want := map[string]string{}
	for _, s := range services {
		for _, p := range ServiceParams(s[0], s[1]) {
			if _, dup := want[p.Name]; dup {
				t.Errorf("%s listed twice", p.Name)
			}
			want[p.Name] = p.Default
			if r, ok := LookupParam(strings.TrimPrefix(p.Default, "$")); !ok || r.Type != p.Type {
				t.Errorf("%s: type %v does not follow %s", p.Name, p.Type, p.Default)
			}
		}
	}
	for name, v := range got {
		if base[name] {
			continue
		}
		if w, ok := want[name]; !ok {
			t.Errorf("postconf adds %s = %s; ServiceParams does not", name, v)
		} else if w != v {
			t.Errorf("%s: %q, postconf says %q", name, w, v)
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("ServiceParams adds %s; postconf does not", name)
		}
	}
}
