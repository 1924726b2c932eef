package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A dialogue case: settings, table files, the client's facts and the
// commands it sends. testdata/cases.txt holds them; testdata/golden.txt
// holds what Debian's smtpd answered and logged (recorded by
// TestRecordReference with PFGO_RECORD=1).
type dcase struct {
	name     string
	settings []string    // "name = value" (DIR stands for the table directory)
	files    [][2]string // file name, line
	client   []string    // NAME ADDR [REVNAME]
	dns      []string    // zone lines for the test DNS server
	dnsFail  []string    // names that get SERVFAIL
	cmds     []string
	policy   *policyServer
	login    string // XCLIENT LOGIN (SASL user name)
}

func loadCases(t testing.TB) []*dcase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []*dcase
	var c *dcase
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		if word == "==" {
			c = &dcase{name: rest}
			out = append(out, c)
			continue
		}
		if c == nil {
			t.Fatalf("cases.txt:%d: no case", n+1)
		}
		switch word {
		case "set":
			c.settings = append(c.settings, rest)
		case "file":
			name, l, _ := strings.Cut(rest, " = ")
			c.files = append(c.files, [2]string{name, l})
		case "client":
			c.client = strings.Fields(rest)
		case "login":
			c.login = rest
		case "dns":
			c.dns = append(c.dns, rest)
		case "servfail":
			c.dnsFail = append(c.dnsFail, rest)
		default:
			c.cmds = append(c.cmds, line)
		}
	}
	return out
}

// clientFacts returns the client name, address, reverse name and their
// statuses for case number i.
func (c *dcase) clientFacts(i int) (name, addr, rev string, ns, rs int) {
	name, addr = "unknown", fmt.Sprintf("192.0.2.%d", i+1)
	if len(c.client) > 0 {
		name = c.client[0]
	}
	if len(c.client) > 1 {
		addr = c.client[1]
		if addr == "trusted" {
			addr = fmt.Sprintf("198.51.100.%d", i+1)
		}
	}
	rev = name
	if len(c.client) > 2 {
		rev = c.client[2]
	}
	status := func(n string) (string, int) {
		switch n {
		case "unknown":
			return "unknown", 5
		case "tempunknown":
			return "unknown", 4
		}
		return n, 2
	}
	name, ns = status(name)
	rev, rs = status(rev)
	return
}

// writeFiles writes the case's table files into dir.
func (c *dcase) writeFiles(t testing.TB, dir string) {
	t.Helper()
	byName := map[string]string{}
	for _, f := range c.files {
		byName[f[0]] += f[1] + "\n"
	}
	c.startCasePolicy(t, dir)
	for n, text := range byName {
		if n == "policy" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// baseMain is the main.cf both sides share (besides devconf's own lines).
const baseMain = `smtpd_authorized_xclient_hosts = 127.0.0.0/8, 192.0.2.0/24, 203.0.113.0/24, 198.51.100.0/24, [2001:db8::]/31, 1.2.3.4
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_error_sleep_time = 0
mynetworks = 127.0.0.0/8, 198.51.100.0/24
relay_domains = relay.example
virtual_alias_domains = valias.example
virtual_mailbox_domains = vmbox.example
virtual_alias_maps = inline:{ {known@valias.example = root} }
`

var (
	queueIDRe = regexp.MustCompile(`\b[0-9A-F]{8,12}\b`)
	lineHead  = regexp.MustCompile(`^\S+ \d+ \d\d:\d\d:\d\d \S+ \S+\[\d+\]: `)
)

// keepLog says which log lines of smtpd belong to the checks.
var keepLog = regexp.MustCompile(`^(\S+: (reject|reject_warning|warn|info|hold|discard|filter|redirect|bcc|permit): |warning: |error: |mapping DSN status )`)

// normalizeLog strips the time stamp and program, keeps check lines, and
// replaces queue IDs and the table directory.
func normalizeLog(line, dir string) (string, bool) {
	line = lineHead.ReplaceAllString(line, "")
	if !keepLog.MatchString(line) {
		return "", false
	}
	if strings.HasPrefix(line, "warning: ") && (strings.Contains(line, "hostname") && strings.Contains(line, "does not resolve") || strings.Contains(line, "non-SMTP command")) {
		return "", false
	}
	if dir != "" {
		line = strings.ReplaceAll(line, dir, "DIR")
	}
	if i := strings.Index(line, ": "); i > 0 && queueIDRe.MatchString(line[:i]) && line[:i] != "NOQUEUE" {
		line = "QUEUEID" + line[i:]
	}
	return line, true
}

// replyText is how a reply is written into the golden file: the whole
// line for 4xx/5xx, "ok" otherwise.
func replyText(lines []string) string {
	if len(lines) == 0 {
		return "<EOF>"
	}
	l := lines[len(lines)-1]
	if l != "" && (l[0] == '4' || l[0] == '5') {
		return l
	}
	return "ok"
}

// smtpCommand turns a case command into the SMTP line.
func smtpCommand(cmd string) string {
	word, arg, _ := strings.Cut(cmd, " ")
	switch word {
	case "ehlo":
		return "EHLO " + arg
	case "helo":
		return "HELO " + arg
	case "mail":
		return "MAIL FROM:<" + arg + ">"
	case "rcpt":
		return "RCPT TO:<" + arg + ">"
	case "vrfy":
		return "VRFY " + arg
	case "etrn":
		return "ETRN " + arg
	}
	return strings.ToUpper(cmd)
}
