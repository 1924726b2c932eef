package maptypes

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// logLines collects what a Logf receives, each line with a prefix.
type logLines []string

func (l *logLines) to(prefix string) Logf {
	return func(format string, args ...any) { *l = append(*l, prefix+fmt.Sprintf(format, args...)) }
}

// TestReportedLookups: the lines and errors of a table search as smtpd
// logs them (texts recorded from Debian's smtpd in smtpd/check).
func TestReportedLookups(t *testing.T) {
	t.Parallel()
	var got logLines
	warn, errorf := got.to("warning: "), got.to("error: ")

	missing := OpenOrUnavailable("inline:{{a b=OK}}", FoldFixed, errorf, warn)
	r := Reported(missing, "inline:{{a b=OK}}", "inline:{{a b=OK}}", warn)
	if _, ok, err := r.Lookup("unknown"); ok || !errors.Is(err, ErrRetry) {
		t.Errorf("stand-in lookup: found %v, err %v; want ErrRetry", ok, err)
	}

	empty, err := Open("inline:{{sender@example.org=}, {x=y}}", FoldFixed)
	if err != nil {
		t.Fatal(err)
	}
	r = Reported(empty, "inline:{{sender@example.org=}, {x=y}}", "virtual_alias_maps", warn)
	if _, ok, err := r.Lookup("sender@example.org"); ok || !errors.Is(err, ErrConfig) || errors.Is(err, ErrRetry) {
		t.Errorf("empty value: found %v, err %v; want ErrConfig", ok, err)
	}
	if v, ok, err := r.Lookup("x"); v != "y" || !ok || err != nil {
		t.Errorf("x: %q %v %v", v, ok, err)
	}
	if _, ok, err := r.Lookup("none"); ok || err != nil {
		t.Errorf("none: %v %v", ok, err)
	}

	f, _ := Open("fail:broken", 0)
	r = Reported(f, "fail:broken", "fail:broken", warn)
	if _, _, err := r.Lookup("k"); !errors.Is(err, ErrRetry) {
		t.Errorf("fail: err %v", err)
	}

	want := []string{
		`error: missing '=' after attribute name: "inline:{{a b=OK}}"; need "inline:{name=value...}"`,
		`warning: inline:{{a b=OK}} is unavailable. missing '=' after attribute name: "inline:{{a b=OK}}"; need "inline:{name=value...}"`,
		`warning: inline:{{a b=OK}} lookup error for "unknown"`,
		`warning: virtual_alias_maps lookup of sender@example.org returns an empty string result`,
		`warning: virtual_alias_maps should return NO RESULT in case of NOT FOUND`,
		`warning: fail:broken lookup error for "k"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
