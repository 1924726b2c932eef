package xsasl

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/flowtest"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// formatAppConf renders a parsed file for the golden files: the settings by key, then the errors.
func formatAppConf(a *AppConf) string {
	var keys []string
	for k := range a.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, a.Values[k])
	}
	for _, e := range a.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}

// TestAppConfGolden parses testdata/appconf/NAME.conf and compares with NAME.out, errors included.
func TestAppConfGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/appconf/*.conf")
	if len(files) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := formatAppConf(ParseAppConf(filepath.Base(f), data))
		out := strings.TrimSuffix(f, ".conf") + ".out"
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
			t.Errorf("%s:\n--- got\n%s--- want\n%s", f, got, want)
		}
	}
}

// TestAppConfDiff gives each golden input to Debian's smtpd as $config_directory/sasl/smtpd.conf:
// where we find errors it must stop with "SASL per-process initialization failed"; elsewhere it
// must offer the mechanisms we offer.
func TestAppConfDiff(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/appconf/*.conf")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			app := ParseAppConf("smtpd.conf", data)
			if _, ok := app.Get("mech_list"); !ok && len(app.Errors) == 0 {
				t.Skip("without mech_list Debian offers every installed plugin; we offer PLAIN LOGIN")
			}
			port := flowtest.FreePort(t)
			s := flowtest.NewReferenceWithMaster(t, "local_recipient_maps =\n",
				fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes\n", port))
			if err := os.MkdirAll(filepath.Join(s.Etc, "sasl"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(s.Etc, "sasl", "smtpd.conf"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			s.Start()
			flowtest.WaitPort(t, port, 10*time.Second)
			cap := &logCapture{}
			b, err := newCyrusFromApp(app, cap.warn)
			if len(app.Errors) > 0 {
				if err == nil {
					t.Fatal("newCyrusFromApp accepted a file with errors")
				}
				s.WaitLog(`smtpd\[\d+\]: fatal: SASL per-process initialization failed`, 10*time.Second)
				if got := cap.take(); got[len(got)-1] != "warning: SASL per-process initialization failed: error when parsing configuration file" {
					t.Errorf("warnings: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sess, err := b.Session(Params{Service: "smtp"})
			if err != nil {
				t.Fatal(err)
			}
			k := flowtest.Dial(t, fmt.Sprintf("127.0.0.1:%d", port))
			defer k.Close()
			var refAuth string
			for _, l := range k.Cmd("EHLO client.example") {
				if strings.HasPrefix(l[4:], "AUTH ") {
					refAuth = l[4:]
				}
			}
			if got := "AUTH " + strings.Join(sess.Mechanisms(), " "); got != refAuth {
				t.Errorf("ours %q, Postfix %q", got, refAuth)
			}
		})
	}
}

// TestNewCyrusFindsConf checks New: smtpd_sasl_path names the file, found in
// $config_directory/sasl; a pwcheck_method other than saslauthd is refused.
func TestNewCyrusFindsConf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sasl"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, "sasl", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("smtpd.conf", "pwcheck_method: saslauthd\nmech_list: login\n")
	write("other.conf", "pwcheck_method: auxprop\n")
	write("cram.conf", "pwcheck_method: saslauthd\nmech_list: cram-md5 plain\n")
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("smtpd_sasl_path = smtpd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Session(Params{Service: "smtp"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Mechanisms(), " "); got != "LOGIN" {
		t.Errorf("mechanisms %q, want LOGIN", got)
	}
	c.Set("smtpd_sasl_path", "other")
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "pwcheck_method auxprop") {
		t.Errorf("auxprop: %v", err)
	}
	c.Set("smtpd_sasl_type", "frobnitz")
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "unsupported SASL server implementation: frobnitz") {
		t.Errorf("bad type: %v", err)
	}
	cap := &logCapture{}
	app, _ := FindAppConf([]string{filepath.Join(dir, "sasl")}, "cram")
	cb, err := newCyrusFromApp(app, cap.warn)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cb.mechs, " "); got != "PLAIN" {
		t.Errorf("cram-md5 plain: %q", got)
	}
	if got := cap.take(); len(got) != 1 || !strings.Contains(got[0], "SASL mechanism CRAM-MD5 is not supported") {
		t.Errorf("warnings %q", got)
	}
}
