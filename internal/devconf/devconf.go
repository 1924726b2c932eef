// Package devconf writes the private configuration of a self-contained
// mail system: the one `make run` starts for a newcomer and the ones the
// end-to-end tests start. Everything lives under one base directory:
//
//	BASE/etc/main.cf, master.cf, aliases   configuration (MAIL_CONFIG)
//	BASE/queue                             queue_directory
//	BASE/data                              data_directory
//	BASE/spool                             mail_spool_directory (mbox files)
//	BASE/maillog                           maillog_file
//
// Started by a user other than root, the system runs in unprivileged mode:
// every process runs as that user, nothing is chrooted, and mail_owner and
// setgid_group name that user and group. Started by root, it is a normal
// privileged system with mail_owner postfix (or nobody when there is no
// postfix account) and setgid_group postdrop (or that account's group).
package devconf

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// Options describe one private mail system.
type Options struct {
	Base   string // base directory; made absolute by Write
	BinDir string // where our daemons and commands are (daemon and command directory)
	// ExtraMain is appended to main.cf (later settings win, as in Postfix).
	ExtraMain string
	// ExtraMaster is appended to master.cf.
	ExtraMaster string
	// Hostname is myhostname; "" means "localhost.localdomain".
	Hostname string
	// Reference lays out the same system for Debian's Postfix 3.7 instead
	// of ours (its programs in /usr/lib/postfix/sbin and /usr/sbin, plus
	// the postlogd service that writes maillog_file), so tests and
	// benchmarks can run both side by side. It needs root.
	Reference bool
}

// Debian's Postfix directories, used with Options.Reference.
const (
	RefDaemonDir  = "/usr/lib/postfix/sbin"
	RefCommandDir = "/usr/sbin"
)

// refServices is what the reference system adds to Services: Postfix
// writes maillog_file through postlogd.
const refServices = "postlog   unix-dgram n  -       n       -       1       postlogd\n"

// Services is the master.cf of the private system: every daemon the
// project has, none chrooted (the base directory is not a prepared jail).
// smtpd reads local_recipient_maps (proxy:unix:passwd.byname) through
// proxymap, as in Postfix's default master.cf.
const Services = `# service type  private unpriv  chroot  wakeup  maxproc command + args
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
`

// Accounts returns mail_owner and setgid_group for the current user: the
// user and its primary group when not root, else postfix/postdrop when
// they exist.
func Accounts() (owner, group string, err error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return "", "", err
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return "", "", err
		}
		return u.Username, g.Name, nil
	}
	owner = "postfix"
	u, err := user.Lookup(owner)
	if err != nil {
		owner = "nobody"
		if u, err = user.Lookup(owner); err != nil {
			return "", "", fmt.Errorf("no postfix or nobody account for mail_owner")
		}
	}
	group = "postdrop"
	if _, err := user.LookupGroup(group); err != nil {
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return "", "", err
		}
		group = g.Name
	}
	return owner, group, nil
}

// MainCF returns the main.cf text for o.
func MainCF(o Options) (string, error) {
	owner, group, err := Accounts()
	if err != nil {
		return "", err
	}
	host := o.Hostname
	if host == "" {
		host = "localhost.localdomain"
	}
	etc := filepath.Join(o.Base, "etc")
	daemons, commands, meta, shlib := o.BinDir, o.BinDir, etc, "no"
	if o.Reference {
		daemons, commands, meta, shlib = RefDaemonDir, RefCommandDir, "/etc/postfix", "/usr/lib/postfix"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Private mail system under %s (written by devconf).\n", o.Base)
	for _, kv := range [][2]string{
		{"compatibility_level", "3.6"},
		{"queue_directory", filepath.Join(o.Base, "queue")},
		{"data_directory", filepath.Join(o.Base, "data")},
		{"meta_directory", meta},
		{"daemon_directory", daemons},
		{"command_directory", commands},
		{"sendmail_path", filepath.Join(commands, "sendmail")},
		{"newaliases_path", filepath.Join(commands, "newaliases")},
		{"mailq_path", filepath.Join(commands, "mailq")},
		{"shlib_directory", shlib},
		{"mail_owner", owner},
		{"setgid_group", group},
		{"default_privs", "nobody"},
		{"myhostname", host},
		{"mydestination", "$myhostname, localhost.$mydomain, localhost"},
		{"inet_interfaces", "loopback-only"},
		{"inet_protocols", "ipv4"},
		{"mynetworks_style", "host"},
		{"maillog_file", filepath.Join(o.Base, "maillog")},
		{"maillog_file_prefixes", o.Base},
		{"mail_spool_directory", filepath.Join(o.Base, "spool")},
		{"alias_maps", "hash:" + filepath.Join(etc, "aliases")},
		{"alias_database", "hash:" + filepath.Join(etc, "aliases")},
		{"relayhost", ""},
		{"default_transport", "error:outbound mail delivery is not available in this private system"},
	} {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	if o.ExtraMain != "" {
		b.WriteString(o.ExtraMain)
		if !strings.HasSuffix(o.ExtraMain, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String(), nil
}

// Write creates the base directory tree and writes etc/main.cf,
// etc/master.cf and etc/aliases (the aliases file only when missing; main.cf
// and master.cf only when overwrite is set or they are missing). It returns
// the configuration directory.
func Write(o *Options, overwrite bool) (string, error) {
	abs, err := filepath.Abs(o.Base)
	if err != nil {
		return "", err
	}
	o.Base = abs
	etc := filepath.Join(o.Base, "etc")
	for _, d := range []string{o.Base, etc, filepath.Join(o.Base, "queue"), filepath.Join(o.Base, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
	}
	// The spool is shared by every recipient's mbox, as /var/mail is.
	spool := filepath.Join(o.Base, "spool")
	if err := os.MkdirAll(spool, 0o755); err != nil {
		return "", err
	}
	if os.Geteuid() == 0 {
		if err := os.Chmod(spool, 0o777|os.ModeSticky); err != nil {
			return "", err
		}
	}
	main, err := MainCF(*o)
	if err != nil {
		return "", err
	}
	files := []struct {
		name, text string
		always     bool
	}{
		{"main.cf", main, overwrite},
		{"master.cf", services(o.Reference) + o.ExtraMaster, overwrite},
		{"aliases", "# See aliases(5).\npostmaster: root\nMAILER-DAEMON: postmaster\n", false},
	}
	for _, f := range files {
		p := filepath.Join(etc, f.name)
		if _, err := os.Stat(p); err == nil && !f.always {
			continue
		}
		if err := os.WriteFile(p, []byte(f.text), 0o644); err != nil {
			return "", err
		}
	}
	// master's lock file lives in data_directory, which must belong to
	// mail_owner (postfix check says so).
	if os.Geteuid() == 0 {
		owner, _, err := Accounts()
		if err != nil {
			return "", err
		}
		u, err := user.Lookup(owner)
		if err != nil {
			return "", err
		}
		uid, _ := strconv.Atoi(u.Uid)
		if err := os.Chown(filepath.Join(o.Base, "data"), uid, -1); err != nil {
			return "", err
		}
	}
	return etc, nil
}

func services(reference bool) string {
	if reference {
		return Services + refServices
	}
	return Services
}
