// Command devrun is what `make run` runs: it lays out a private mail system
// under a base directory (internal/devconf), builds its aliases database,
// says where mail and the log go and how to send a test message, and then
// runs `postfix start-fg` in the foreground until interrupted.
//
//	devrun [-base DIR] [-bin DIR] [-setup] [-reference] [-main TEXT]
//	       [-smtp ADDR:PORT] [-submission ADDR:PORT]
//
// -setup only writes the tree and prints the configuration directory;
// -reference writes it for Debian's Postfix instead (benchmarks run both
// side by side); -main appends lines to main.cf.
//
// Started without -setup, the system also receives mail by SMTP: smtpd
// listens on -smtp (default 127.0.0.1:2525, as port 25) and on -submission
// (default 127.0.0.1:2587, as port 587: STARTTLS required, with a
// self-signed certificate written to BASE/etc). An empty address leaves
// that service out.
//
// An existing BASE/etc/main.cf or master.cf is kept, so local edits
// survive; delete BASE to start afresh.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"syscall"

	"github.com/postfix-go/postfix/internal/devconf"
)

func main() {
	base := flag.String("base", "run", "base directory of the private mail system")
	bin := flag.String("bin", "", "directory of the built programs (default: this program's directory)")
	setup := flag.Bool("setup", false, "write the tree, print the configuration directory, do not start")
	ref := flag.Bool("reference", false, "configure for Debian's Postfix (with -setup)")
	extra := flag.String("main", "", "lines appended to main.cf")
	smtp := flag.String("smtp", "127.0.0.1:2525", "where smtpd listens as on port 25 (empty: nowhere)")
	submission := flag.String("submission", "127.0.0.1:2587", "where smtpd listens as on port 587 (empty: nowhere)")
	flag.Parse()
	if *bin == "" {
		exe, err := os.Executable()
		if err != nil {
			fatal(err)
		}
		*bin = filepath.Dir(exe)
	}
	binDir, err := filepath.Abs(*bin)
	if err != nil {
		fatal(err)
	}
	o := devconf.Options{Base: *base, BinDir: binDir, ExtraMain: *extra, Reference: *ref}
	if !*setup {
		if err := addSMTP(&o, *smtp, *submission); err != nil {
			fatal(err)
		}
	}
	etc, err := devconf.Write(&o, *setup)
	if err != nil {
		fatal(err)
	}
	postalias := filepath.Join(binDir, "postalias")
	if *ref {
		postalias = filepath.Join(devconf.RefCommandDir, "postalias")
	}
	if err := run(postalias, filepath.Join(etc, "aliases")); err != nil {
		fatal(fmt.Errorf("postalias: %v", err))
	}
	if *setup {
		fmt.Println(etc)
		return
	}
	me := "root"
	if u, err := user.Current(); err == nil {
		me = u.Username
	}
	mode := "unprivileged mode: every process runs as " + me
	if os.Geteuid() == 0 {
		mode = "privileged mode (started by root): daemons run as mail_owner, local delivers as each recipient"
	}
	fmt.Printf("A private mail system runs under %s\n(%s).\n", o.Base, mode)
	for _, l := range [][2]string{
		{"configuration", etc + "/main.cf, master.cf, aliases"},
		{"queue", o.Base + "/queue   (list it: " + binDir + "/mailq -C " + etc + ")"},
		{"mail for " + me, o.Base + "/spool/" + me + "   (mbox; home_mailbox = Maildir/ for Maildir)"},
		{"log", o.Base + "/maillog"},
		{"SMTP", listening(*smtp, "as port 25: mail for this system; relay from loopback")},
		{"submission", listening(*submission, "as port 587: STARTTLS first (self-signed certificate)")},
	} {
		if l[1] != "" {
			fmt.Printf("  %-16s %s\n", l[0]+":", l[1])
		}
	}
	fmt.Printf("Send a test message from another terminal:\n  printf 'Subject: hello\\n\\nIt works.\\n' | %s/sendmail -C %s %s\n",
		binDir, etc, me)
	if *smtp != "" {
		fmt.Printf("or by SMTP:\n  swaks --server %s --to %s@localhost\n", *smtp, me)
	}
	fmt.Println("Stop with Ctrl-C.")
	postfix := filepath.Join(binDir, "postfix")
	env := append(os.Environ(), "MAIL_CONFIG="+etc)
	if err := syscall.Exec(postfix, []string{"postfix", "-c", etc, "start-fg"}, env); err != nil {
		fatal(fmt.Errorf("running %s: %v", postfix, err))
	}
}

// addSMTP adds the smtp and submission services to o: master.cf lines,
// and the certificate the submission service needs for STARTTLS.
func addSMTP(o *devconf.Options, smtp, submission string) error {
	if smtp != "" {
		o.ExtraMaster += smtp + " inet n - n - - smtpd\n"
	}
	if submission == "" {
		return nil
	}
	etc := filepath.Join(o.Base, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return err
	}
	host := o.Hostname
	if host == "" {
		host = "localhost.localdomain"
	}
	cert, key, err := devconf.SelfSigned(etc, host)
	if err != nil {
		return fmt.Errorf("writing a self-signed certificate: %v", err)
	}
	o.ExtraMain += fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\nsmtpd_tls_security_level = may\n", cert, key)
	o.ExtraMaster += submission + " inet n - n - - smtpd\n" +
		"  -o syslog_name=postfix/submission\n" +
		"  -o smtpd_tls_security_level=encrypt\n" +
		"  -o smtpd_client_restrictions=permit_mynetworks,reject\n"
	return nil
}

func listening(addr, what string) string {
	if addr == "" {
		return ""
	}
	return addr + "   (" + what + ")"
}

func run(path string, args ...string) error {
	p, err := os.StartProcess(path, append([]string{filepath.Base(path)}, args...),
		&os.ProcAttr{Files: []*os.File{nil, os.Stdout, os.Stderr}})
	if err != nil {
		return err
	}
	st, err := p.Wait()
	if err != nil {
		return err
	}
	if !st.Success() {
		return fmt.Errorf("%s", st)
	}
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "devrun:", err)
	os.Exit(1)
}
