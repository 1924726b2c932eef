package getopt

import (
	"bytes"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		args         string
		opts, rest   string
		ok           bool
		stderrPrefix string
	}{
		{"-nf -c dir name", "n f c=dir", "name", true, ""},
		{"-cdir -- -n", "c=dir", "-n", true, ""},
		{"name -n", "", "name -n", true, ""},
		{"-", "", "-", true, ""},
		{"-z", "", "", false, "prog: invalid option -- 'z'"},
		{"-c", "", "", false, "prog: option requires an argument -- 'c'"},
		{"-n:", "n", "", false, "prog: invalid option -- ':'"},
	} {
		var got []string
		var stderr bytes.Buffer
		rest, ok := Parse("prog", &stderr, strings.Fields(c.args), "c:fn", func(o byte, arg string) bool {
			if arg != "" {
				got = append(got, string(o)+"="+arg)
			} else {
				got = append(got, string(o))
			}
			return true
		})
		if ok != c.ok || strings.Join(got, " ") != c.opts || (ok && strings.Join(rest, " ") != c.rest) ||
			!strings.HasPrefix(stderr.String(), c.stderrPrefix) {
			t.Errorf("%q: opts %q rest %q ok %v stderr %q", c.args, got, rest, ok, stderr.String())
		}
	}
}
