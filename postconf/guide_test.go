package postconf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// TestGuideScenario walks the postconf steps of the administration guide
// the project grew from (a Korean tour of Postfix administration) on Debian's stock
// configuration: each step runs on Postfix's copy and on ours, and the
// output, the exit status and both files must agree after every step.
func TestGuideScenario(t *testing.T) {
	ours := testutil.Bin(t, "postconf")
	ref := testutil.Reference(t, refPostconf)
	dr, do := debianDir(t), debianDir(t)
	age := func(d string) {
		old := time.Now().Add(-time.Hour)
		for _, f := range []string{"main.cf", "master.cf"} {
			os.Chtimes(filepath.Join(d, f), old, old)
		}
	}
	appendMain := func(text string) {
		for _, d := range []string{dr, do} {
			f, err := os.OpenFile(filepath.Join(d, "main.cf"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(text)
			f.Close()
		}
	}
	step := func(args ...string) {
		t.Helper()
		age(dr)
		age(do)
		rr := testutil.Run(t, dr, ref, "postconf", nil, append([]string{"-c", dr}, args...)...)
		ro := testutil.Run(t, do, ours, "postconf", nil, append([]string{"-c", do}, args...)...)
		norm := func(s, d string, pid int) string {
			return maskPID(processID.ReplaceAllString(strings.ReplaceAll(s, d, "DIR"), "${1}N"), pid)
		}
		if a, b := norm(rr.Stdout, dr, rr.Pid), norm(ro.Stdout, do, ro.Pid); a != b {
			t.Errorf("postconf %q: stdout differs\n%s", args, lineDiff(a, b))
		}
		if a, b := normStderr(rr.Stderr, dr), normStderr(ro.Stderr, do); a != b {
			t.Errorf("postconf %q: stderr differs\n%s", args, lineDiff(a, b))
		}
		if rr.Exit != ro.Exit {
			t.Errorf("postconf %q: exit %d, Postfix %d", args, ro.Exit, rr.Exit)
		}
		for _, f := range []string{"main.cf", "master.cf"} {
			if a, b := readOpt(filepath.Join(dr, f)), readOpt(filepath.Join(do, f)); a != b {
				t.Errorf("postconf %q: %s differs\n%s", args, f, lineDiff(a, b))
			}
		}
	}
	step()
	step("-e", "mynetworks_style=host")
	step()
	step("-e", "inet_interfaces=all")
	step("-a")
	step("-h", "smtpd_sasl_auth_enable", "smtpd_sasl_path", "smtpd_sasl_type")
	appendMain("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_security_options = noanonymous\nbroken_sasl_auth_clients = yes\n" +
		"smtpd_recipient_restrictions =\n    permit_sasl_authenticated,\n    permit_mynetworks,\n    reject_unauth_destination\n")
	step()
	step("-n")
	step("-e", "smtpd_sasl_local_domain=$myhostname")
	step("-x", "smtpd_sasl_local_domain", "smtpd_recipient_restrictions")
	step("-M", "submission/inet=submission inet n - y - - smtpd")
	step("-P", "submission/inet/smtpd_tls_security_level=encrypt")
	step("-Pe", "submission/inet/smtpd_sasl_auth_enable=yes")
	step("-Pe", "submission/inet/smtpd_client_restrictions=permit_sasl_authenticated,reject")
	step("-M", "50000/inet=50000 inet n - n - - smtpd")
	step("-M")
	step("-Mf")
	step("-P")
	step("-F", "submission/inet")
	step("-nf")
	step("-e", "smtpd_sasl_security_options=noanonymous, noplaintext")
	step("-X", "broken_sasl_auth_clients")
	step("-#", "smtpd_sasl_local_domain")
	step("-MX", "50000/inet")
	step("-n")
}
