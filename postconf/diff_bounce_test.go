package postconf_test

import (
	"os"
	"path/filepath"
	"testing"
)

// Bounce templates (postconf -t, -b): the built-in ones, a template file
// named on the command line or by bounce_template_file, and every way a
// template file can be wrong.
func TestDiffBounceTemplates(t *testing.T) {
	files := map[string]string{
		"tmpl": "# custom\nfailure_template = <<EOF\nCharset: us-ascii\nFrom: Postmaster <MAILER-DAEMON>\nSubject: Bounced\n\n" +
			"Hello from $myhostname, after $delay_warning_time_hours hours,\nlimit $maximal_queue_lifetime_days days.\nEOF\n\n" +
			"delay_template = <<EOD\nSubject: later\n\nWait $delay_warning_time_minutes minutes.\nEOD\n",
		"endless":    "failure_template = <<EOF\nSubject: x\n\nno end\n",
		"badname":    "bogus_template = <<EOF\nx\nEOF\n",
		"oneline":    "failure_template = text\n",
		"notheader":  "failure_template = <<EOF\nBad-Header x\n\nbody\nEOF\n",
		"utf8":       "failure_template = <<EOF\nCharset: utf-8\nSubject: s\n\nbody \xc3\xa9\nEOF\n",
		"eightbit":   "failure_template = <<EOF\nSubject: s\n\nbody \xc3\xa9\nEOF\n",
		"unknownhdr": "failure_template = <<EOF\nX-Foo: bar\nSubject: s\n\nbody\nEOF\n",
		"contline":   "failure_template = <<EOF\nSubject: s\n  continued\n\nbody\nEOF\n",
		"indented":   "  failure_template = <<EOF\nSubject: s\n\nbody\nEOF\n",
		"twice":      "failure_template=<<EOF\nsubject: lower\n\nbody\nEOF\nfailure_template = <<EOF\nSubject: second\n\nb2\nEOF\n",
		"nomarker":   "failure_template = <<\nSubject: s\n\nbody\n\n",
		"notext":     "failure_template = <<EOF\nSubject: s\nEOF\n",
		"blankfirst": "failure_template = <<EOF\n\nbody only\nEOF\n",
		"comments":   "# only comment\n\n",
		"noequals":   "failure_template\n",
		"marker":     "failure_template = <<EOF\nSubject: s\n\nbody\n  EOF\nEOF\n",
	}
	mainCF := "myhostname = h.example\ndelay_warning_time = 4h\n"
	d := confDir(t, &mainCF, ptr(""))
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0644); err != nil {
			t.Fatal(err)
		}
	}
	diffCase(t, d, "-c", "@DIR@", "-t")
	diffCase(t, d, "-c", "@DIR@", "-b")
	diffCase(t, d, "-c", "@DIR@", "-b", "")
	diffCase(t, d, "-c", "@DIR@", "-t", "nonexistent")
	for name := range files {
		diffCase(t, d, "-c", "@DIR@", "-t", name)
		diffCase(t, d, "-c", "@DIR@", "-b", name)
	}
	withFile := mainCF + "bounce_template_file = tmpl\nmaximal_queue_lifetime = 2w\n"
	d2 := confDir(t, &withFile, ptr(""))
	os.WriteFile(filepath.Join(d2, "tmpl"), []byte(files["tmpl"]), 0644)
	diffCase(t, d2, "-c", "@DIR@", "-b")
	diffCase(t, d2, "-c", "@DIR@", "-t")
}
