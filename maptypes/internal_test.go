package maptypes

import (
	"errors"
	"strings"
	"testing"
)

// TestInternalTable checks the in-process table: empty at open, folded
// keys, updates that replace, deletions, listing, and a new table for
// each open.
func TestInternalTable(t *testing.T) {
	t.Parallel()
	tb, err := Open("internal:x", Default)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tb.Lookup("a"); ok || err != nil {
		t.Errorf("new table not empty: %v %v", ok, err)
	}
	u, d, s := tb.(Updater), tb.(Deleter), tb.(Sequencer)
	if dup, err := u.Update("Key", "1"); dup || err != nil {
		t.Errorf("first update: %v %v", dup, err)
	}
	if dup, err := u.Update("KEY", "2"); !dup || err != nil {
		t.Errorf("second update: %v %v", dup, err)
	}
	u.Update("b", "3")
	if v, ok, _ := tb.Lookup("key"); !ok || v != "2" {
		t.Errorf("lookup after replace: %q %v", v, ok)
	}
	var list []string
	s.Sequence(func(k, v string) bool { list = append(list, k+"="+v); return true })
	if strings.Join(list, " ") != "b=3 key=2" {
		t.Errorf("sequence: %q", list)
	}
	if found, _ := d.Delete("KEY"); !found {
		t.Error("delete did not find the key")
	}
	if found, _ := d.Delete("key"); found {
		t.Error("second delete found the key")
	}
	other, _ := Open("internal:x", Default)
	if _, ok, _ := other.Lookup("b"); ok {
		t.Error("a second open shares the first table's entries")
	}
	// Without case folding keys are exact.
	exact, _ := Open("internal:y", 0)
	exact.(Updater).Update("Key", "v")
	if _, ok, _ := exact.Lookup("key"); ok {
		t.Error("key folded without FoldFixed")
	}
	if _, err := Create("internal", "x", Default); err == nil ||
		err.Error() != "unsupported dictionary type: internal does not support bulk-mode creation." {
		t.Errorf("create: %v", err)
	}
}

// TestNISTable checks nis: with and without a NIS domain name. The
// "not set" warning is printed once per process, so the differential
// test (TestNISDiff) checks it with whole postmap runs.
func TestNISTable(t *testing.T) {
	t.Parallel()
	if _, err := Open("nis:mail.aliases", Default|Write); err == nil ||
		err.Error() != "nis:mail.aliases map requires O_RDONLY access mode" {
		t.Errorf("open for writing: %v", err)
	}
	disabled := &nisTable{name: "mail.aliases"}
	if _, ok, err := disabled.Lookup("root"); ok || err != nil {
		t.Errorf("lookup without a NIS domain: %v %v", ok, err)
	}
	set := &nisTable{name: "mail.aliases", domain: "example"}
	_, ok, err := set.Lookup("root")
	if ok || !errors.Is(err, ErrRetry) || !strings.Contains(err.Error(), "NIS (YP RPC) lookups are not implemented") {
		t.Errorf("lookup with a NIS domain: %v %v", ok, err)
	}
	if _, ok := Table(set).(Sequencer); ok {
		t.Error("nis tables cannot be listed")
	}
}
