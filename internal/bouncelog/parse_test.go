package bouncelog

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// dumpEntries renders parsed entries and warnings for the golden files.
func dumpEntries(entries []Entry, warnings []string) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "recipient=%q orig=%q dsn_orig=%q notify=%d offset=%d\n",
			e.Rcpt.Address, e.Rcpt.Orig, e.Rcpt.DSNOrig, e.Rcpt.Notify, e.Rcpt.Offset)
		fmt.Fprintf(&b, "  status=%q action=%q diag=%q;%q mta=%q;%q\n  reason=%q\n",
			e.Status.Code, e.Status.Action, e.Status.DiagType, e.Status.Diag, e.Status.MTAType, e.Status.MTA, e.Status.Reason)
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

// TestParseGolden reads testdata/parse/KIND-NAME.in as a KIND log (bounce
// or defer) and compares entries and warnings with KIND-NAME.out.
func TestParseGolden(t *testing.T) {
	t.Parallel()
	ins, err := filepath.Glob("testdata/parse/*.in")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(filepath.Base(in), ".in")
		kind, _, _ := strings.Cut(base, "-")
		entries, warnings, err := Parse(bytes.NewReader(data), kind+"/"+base, kind, Options{})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		got := dumpEntries(entries, warnings)
		out := strings.TrimSuffix(in, ".in") + ".out"
		if *update {
			if err := os.WriteFile(out, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", in, got, want)
		}
	}
}

// FuzzParse checks that no log text makes Parse panic, that every entry
// it returns has the fields the bounce daemon relies on, and that Format
// output always parses back to the same number of entries.
func FuzzParse(f *testing.F) {
	ins, _ := filepath.Glob("testdata/parse/*.in")
	for _, in := range ins {
		if data, err := os.ReadFile(in); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := Parse(bytes.NewReader(data), "defer/x", "defer", Options{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, e := range entries {
			if e.Rcpt.Address == "" || e.Status.Code == "" || e.Status.Action == "" || e.Status.Reason == "" {
				t.Fatalf("entry with empty field: %+v", e)
			}
			buf.Write(Format(e, Options{}))
		}
		again, warnings, err := Parse(&buf, "defer/x", "defer", Options{})
		if err != nil || len(again) != len(entries) {
			t.Fatalf("re-parse: %d entries (want %d), warnings %v, err %v\n%q", len(again), len(entries), warnings, err, buf.Bytes())
		}
	})
}
