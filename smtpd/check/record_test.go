package check

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/flowtest"
)

// xclientName is the XCLIENT form of a case's client name.
func xclientName(n string) string {
	switch n {
	case "unknown":
		return "[UNAVAILABLE]"
	case "tempunknown":
		return "[TEMPUNAVAIL]"
	}
	return n
}

// TestRecordReference plays every case of testdata/cases.txt against
// Debian's smtpd (one master.cf service per case, XCLIENT to pose as the
// case's client, a test DNS server inside a network namespace) and
// compares the replies and check log lines with testdata/golden.txt, the
// file TestGolden checks package check against. With PFGO_RECORD=1 it
// rewrites the golden file instead. It needs root (else it is skipped).
func TestRecordReference(t *testing.T) {
	if os.Getenv("PFGO_RECORD") == "" && testing.Short() {
		t.Skip("-short: not running Debian's smtpd")
	}
	dns, inside := dnstest.InNamespace(t, "")
	if !inside {
		return
	}
	cases := loadCases(t)
	for _, c := range cases {
		dns.MustAdd(t, c.dns...)
		for _, n := range c.dnsFail {
			dns.Fail(n)
		}
	}
	tables := t.TempDir()
	for d := tables; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		_ = os.Chmod(d, 0o755)
	}
	var master strings.Builder
	master.WriteString("proxymap  unix  -       -       n       -       -       proxymap\nanvil     unix  -       -       n       -       1       anvil\n")
	ports := make([]int, len(cases))
	for i, c := range cases {
		cdir := filepath.Join(tables, fmt.Sprintf("c%d", i))
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.writeFiles(t, cdir)
		ports[i] = flowtest.FreePort(t)
		fmt.Fprintf(&master, "127.0.0.1:%d inet n - n - - smtpd", ports[i])
		for _, s := range c.settings {
			fmt.Fprintf(&master, " -o { %s }", strings.ReplaceAll(s, "DIR", cdir))
		}
		master.WriteString("\n")
	}
	sys := flowtest.NewReferenceWithMaster(t, baseMain, master.String())
	sys.Start()
	defer func() {
		if t.Failed() {
			t.Log(sys.LogText())
		}
	}()
	outs := make([]strings.Builder, len(cases))
	addrCase := map[string]int{} // client address -> case
	var lastAddr string
	for i, c := range cases {
		out := &outs[i]
		cdir := filepath.Join(tables, fmt.Sprintf("c%d", i))
		name, addr, rev, _, _ := c.clientFacts(i)
		_ = name
		fmt.Fprintf(out, "== %s\n", c.name)
		flowtest.WaitPort(t, ports[i], 10*time.Second)
		k := flowtest.Dial(t, fmt.Sprintf("127.0.0.1:%d", ports[i]))
		cn := "unknown"
		if len(c.client) > 0 {
			cn = c.client[0]
		}
		rn := cn
		if len(c.client) > 2 {
			rn = c.client[2]
		}
		_ = rev
		addrCase[addr] = i
		x := fmt.Sprintf("XCLIENT NAME=%s ADDR=%s PORT=54321 REVERSE_NAME=%s", xclientName(cn), addr, xclientName(rn))
		if c.login != "" {
			x += " LOGIN=" + c.login
		}
		fmt.Fprintf(out, "XCLIENT: %s\n", replyText(k.Cmd(x)))
		for _, cmd := range c.cmds {
			if strings.HasPrefix(cmd, "xclient ") {
				f := strings.Fields(cmd)[1:]
				if len(f) < 3 {
					f = append(f, f[0])
				}
				addr = f[1]
				addrCase[addr] = i
				xa := addr
				if strings.Contains(xa, ":") {
					xa = "IPV6:" + xa
				}
				k.Cmd("RSET")
				x := fmt.Sprintf("XCLIENT NAME=%s ADDR=%s PORT=54321 REVERSE_NAME=%s", xclientName(f[0]), xa, xclientName(f[2]))
				fmt.Fprintf(out, "%s: %s\n", cmd, replyText(k.Cmd(x)))
				continue
			}
			line := smtpCommand(cmd)
			r := k.Cmd(line)
			fmt.Fprintf(out, "%s: %s\n", line, replyText(r))
			if line == "DATA" && len(r) > 0 && strings.HasPrefix(r[0], "354") {
				fmt.Fprintf(out, ".: %s\n", replyText(k.Send("Subject: test\r\n\r\nbody\r\n.\r\n", 1)))
			}
		}
		k.Cmd("QUIT")
		k.Close()
		sys.WaitLog(`disconnect from \S+\[`+regexp.QuoteMeta(addr)+`\]`, 10*time.Second)
		out.WriteString(c.policyLines())
		_ = cdir
		lastAddr = addr
	}
	_ = lastAddr
	// Each case has its own service, so its own smtpd processes: the log
	// lines of a process belong to the case whose client it served.
	pidCase := map[string]int{}
	pidRe := regexp.MustCompile(`/smtpd\[(\d+)\]: `)
	addrRe := regexp.MustCompile(`\[([0-9a-fA-F.:]+)\]`)
	lines := strings.Split(sys.LogText(), "\n")
	for _, l := range lines {
		m := pidRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		for _, a := range addrRe.FindAllStringSubmatch(l, -1) {
			if i, ok := addrCase[a[1]]; ok {
				pidCase[m[1]] = i
			}
		}
	}
	for _, l := range lines {
		m := pidRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		i, ok := pidCase[m[1]]
		if !ok {
			continue
		}
		if n, ok := normalizeLog(l, filepath.Join(tables, fmt.Sprintf("c%d", i))); ok {
			fmt.Fprintf(&outs[i], "L: %s\n", n)
		}
	}
	var out strings.Builder
	for i := range outs {
		out.WriteString(outs[i].String())
	}
	if os.Getenv("PFGO_RECORD") != "" {
		if err := os.WriteFile("testdata/golden.txt", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("Debian's smtpd now answers differently from testdata/golden.txt (re-record with PFGO_RECORD=1):\n%s", out.String())
	}
}
