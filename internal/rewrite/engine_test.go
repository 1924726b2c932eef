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

// A table that cannot be opened is reported once, and each request that
// needs it fails (FlagFail) with a warning, so that qmgr defers the mail.
func TestEngineUnavailableTable(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "relay_domains = hash:@ETC@/missing\n", nil)
	wl := &warnLog{}
	e := NewEngine(s.config(t), wl.warn)
	if w := wl.text(); !strings.Contains(w, "missing is unavailable") {
		t.Errorf("open warning %q", w)
	}
	r := e.Resolve("", "u@remote.example")
	if r.Flags&FlagFail == 0 {
		t.Errorf("Resolve = %+v, want FlagFail", r)
	}
	if w := wl.text(); !strings.HasSuffix(w, "relay_domains lookup failure") {
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
