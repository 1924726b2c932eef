package rewrite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Changed names a table whose file was replaced after the engine opened
// it, so that the daemon can exit and be restarted.
func TestEngineChanged(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "transport_maps = texthash:@ETC@/transport\n", map[string]string{"transport": "a.example smtp:\n"})
	e := NewEngine(s.config(t), func(string, ...any) {})
	defer e.Close()
	if got := e.Changed(); got != "" {
		t.Fatalf("Changed() = %q before any change", got)
	}
	p := filepath.Join(s.etc, "transport")
	if err := os.WriteFile(p+".new", []byte("a.example relay:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(p+".new", later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	if got := e.Changed(); got != p {
		t.Errorf("Changed() = %q, want %q", got, p)
	}
}

// A table that cannot be opened is reported once, as an error, and each
// request that needs it fails (FlagFail) with a warning, so that qmgr
// defers the mail.
func TestEngineUnavailableTable(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "relay_domains = hash:@ETC@/missing\n", nil)
	wl, el := &warnLog{}, &warnLog{}
	e := NewEngineLog(s.config(t), wl.warn, el.warn)
	if w := el.text(); !strings.Contains(w, "open database") || !strings.Contains(w, "missing.db: No such file") {
		t.Errorf("open error %q", w)
	}
	r := e.Resolve("", "u@remote.example")
	if r.Flags&FlagFail == 0 {
		t.Errorf("Resolve = %+v, want FlagFail", r)
	}
	if w := wl.text(); !strings.Contains(w, "missing is unavailable") || !strings.HasSuffix(w, "relay_domains lookup failure") {
		t.Errorf("warnings %q", w)
	}
	// Local mail does not need the table.
	if r := e.Resolve("", "u@host.example.com"); r.Flags != ClassLocal || r.Transport != "local" {
		t.Errorf("local Resolve = %+v", r)
	}
}

// Nothing is logged for ordinary requests.
func TestEngineQuiet(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "", nil)
	wl := &warnLog{}
	e := NewEngine(s.config(t), wl.warn)
	e.Resolve("", "u@remote.example")
	e.Verify("a@b.example", "u@host.example.com")
	e.RewriteExternal(RuleLocal, "user")
	if w := wl.text(); w != "" {
		t.Errorf("warnings for ordinary requests: %q", w)
	}
}

// Transport and relocated tables log as Postfix's trivial-rewrite does:
// a table named by transport_maps and address_verify_transport_maps is
// opened, and reported unopenable, once; "*" is looked up for each of
// them when the engine starts; an empty result is a failure logged under
// the parameter's name.
func TestEngineTableReports(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "transport_maps = hash:@ETC@/missing\n", nil)
	wl, el := &warnLog{}, &warnLog{}
	e := NewEngineLog(s.config(t), wl.warn, el.warn)
	if n := strings.Count(el.text(), "open database"); n != 1 {
		t.Errorf("%d open errors, want 1: %q", n, el.text())
	}
	if n := strings.Count(wl.text(), `missing lookup error for "*"`); n != 2 {
		t.Errorf("%d wild-card lookups at start, want 2: %q", n, wl.text())
	}
	if r := e.Resolve("", "u@remote.example"); r.Flags&FlagFail == 0 {
		t.Errorf("Resolve = %+v, want FlagFail", r)
	}
	if w := wl.text(); !strings.HasSuffix(w, "missing lookup error for \"u@remote.example\"\ntransport_maps lookup failure") {
		t.Errorf("warnings %q", w)
	}

	s = newSysDir(t, "relocated_maps = inline:{u@remote.example=}\n", nil)
	wl = &warnLog{}
	e = NewEngine(s.config(t), wl.warn)
	if r := e.Resolve("", "u@remote.example"); r.Flags&FlagFail == 0 {
		t.Errorf("Resolve = %+v, want FlagFail", r)
	}
	want := "relocated_maps lookup of u@remote.example returns an empty string result\n" +
		"relocated_maps should return NO RESULT in case of NOT FOUND\n" +
		"relocated_maps lookup failure"
	if w := wl.text(); w != want {
		t.Errorf("warnings %q, want %q", w, want)
	}
}

// Sender-dependent tables and domain lists fail as Postfix's do: an
// empty result of a sender-dependent table is an error (Postfix 3.7 never
// reaches its "ignoring null lookup result" case), a list logs the
// pattern whose lookup failed, and a list's file that cannot be read is
// the table "non-existent:PATH".
func TestEngineListAndSenderFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		main, sender, errors, warnings string
	}{
		{"sender_dependent_relayhost_maps = inline:{s@example.org=}\n", "s@example.org", "",
			"sender_dependent_relayhost_maps lookup of s@example.org returns an empty string result\n" +
				"sender_dependent_relayhost_maps should return NO RESULT in case of NOT FOUND\n" +
				"sender_dependent_relayhost_maps lookup failure"},
		{"sender_dependent_default_transport_maps = fail:x\n", "s@example.org", "",
			"fail:x lookup error for \"s@example.org\"\n" +
				"sender_dependent_default_transport_maps lookup failure"},
		{"relay_domains = !fail:r\n", "", "",
			"relay_domains: fail:r: table lookup problem\nrelay_domains lookup failure"},
		{"virtual_alias_domains = @ETC@/nofile\n", "", "open file @ETC@/nofile: No such file or directory",
			"non-existent:@ETC@/nofile is unavailable. open file @ETC@/nofile: No such file or directory\n" +
				"virtual_alias_domains: non-existent:@ETC@/nofile: table lookup problem\n" +
				"virtual_alias_domains lookup failure"},
	}
	for _, tc := range cases {
		s := newSysDir(t, tc.main, nil)
		wl, el := &warnLog{}, &warnLog{}
		e := NewEngineLog(s.config(t), wl.warn, el.warn)
		r := e.Resolve(tc.sender, "u@remote.example")
		if r.Flags&FlagFail == 0 {
			t.Errorf("%q: Resolve = %+v, want FlagFail", tc.main, r)
		}
		etc := s.etc
		if want := strings.ReplaceAll(tc.errors, "@ETC@", etc); el.text() != want {
			t.Errorf("%q: errors %q, want %q", tc.main, el.text(), want)
		}
		if want := strings.ReplaceAll(tc.warnings, "@ETC@", etc); wl.text() != want {
			t.Errorf("%q: warnings %q, want %q", tc.main, wl.text(), want)
		}
	}

	// A failing mydestination is logged by the list alone.
	s := newSysDir(t, "mydestination = fail:d\n", nil)
	wl := &warnLog{}
	e := NewEngine(s.config(t), wl.warn)
	if r := e.Resolve("", "u@example.com"); r.Flags&FlagFail == 0 || r.Recipient != "NEXTRCPT NOT UPDATED" {
		t.Errorf("Resolve = %+v, want FlagFail and no recipient", r)
	}
	if w := wl.text(); w != "mydestination: fail:d: table lookup problem" {
		t.Errorf("warnings %q", w)
	}
}
