package postmap_test

import "testing"

// TestDiffHeaderBody: -h and -b feed a message's header lines (with
// continuation lines joined) and body lines to header_checks-style tables,
// as Postfix's postmap does.
func TestDiffHeaderBody(t *testing.T) {
	message := "From: a@b\nSubject: buy viagra\n  now\nX-Foo: bar\nContent-Type: text/plain\n\nhello\nfree money here\n-- \nsig\n"
	files := map[string]string{
		"main.cf": "myhostname = h.example\n",
		"hc":      "/^Subject: .*viagra/ REJECT spam\n/^From: (.*)/ WARN from $1\n/^X-Foo:/ IGNORE\nif /^Content-/\n/text/ PREPEND X-Text: yes\nendif\n",
		"bc":      "/free money/ DISCARD\n/^--/ OK\n/^$/ DUNNO\n",
	}
	runBoth(t, files, []step{
		{args: []string{"-h", "-q", "-", "regexp:hc"}, stdin: message},
		{args: []string{"-b", "-q", "-", "regexp:bc"}, stdin: message},
		{args: []string{"-hb", "-q", "-", "regexp:hc", "regexp:bc"}, stdin: message},
		{args: []string{"-h", "-q", "-", "pcre:hc"}, stdin: message},
		{args: []string{"-b", "-q", "-", "pcre:bc"}, stdin: "no header line\n\nfree money\n"},
		{args: []string{"-h", "-q", "Subject: viagra", "regexp:hc"}},
	})
}
