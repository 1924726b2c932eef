package master

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// servicesEnv makes a configuration whose daemon directory holds some of
// the programs of Debian's master.cf.
func servicesEnv(t testing.TB) (*conf.Config, string) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0755)
	for _, p := range []string{"smtpd", "pickup", "cleanup", "qmgr", "trivial-rewrite", "bounce", "local", "error"} {
		os.WriteFile(filepath.Join(bin, p), []byte("#!/bin/sh\n"), 0755)
	}
	main := fmt.Sprintf("queue_directory = /QDIR\ndaemon_directory = %s\nmaillog_file = %s/maillog\n"+
		"inet_interfaces = 127.0.0.1, [::1]\ninet_protocols = all\nmaster_service_disable = off/unix\n", bin, dir)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0644)
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

var logPrefix = regexp.MustCompile(`(?m)^.*?\]: `)

// describe runs buildServices over master.cf text and prints the services
// and the warnings.
func describe(t testing.TB, c *conf.Config, dir string, data []byte) string {
	var b strings.Builder
	mf, err := conf.ParseMaster("master.cf", data)
	if err != nil {
		return fmt.Sprintf("error: %v\n", err)
	}
	maillog.Init("master", c)
	os.Truncate(filepath.Join(dir, "maillog"), 0)
	for _, s := range buildServices(c, mf, 0, false, map[string]bool{}) {
		fmt.Fprintf(&b, "%s: path=%s maxproc=%d wakeup=%d cond=%v\n", s.key(), strings.ReplaceAll(s.path, dir, "DIR"), s.maxProc, s.wakeup, s.condWake)
		fmt.Fprintf(&b, "\targv=%q\n\taddrs=%q\n", s.argv, s.addrs)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
	b.WriteString(strings.ReplaceAll(logPrefix.ReplaceAllString(string(log), ""), dir, "DIR"))
	return b.String()
}

func TestServicesGolden(t *testing.T) {
	c, dir := servicesEnv(t)
	ins, _ := filepath.Glob("testdata/services/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := describe(t, c, dir, data)
		out := strings.TrimSuffix(in, ".in") + ".out"
		if *update {
			os.WriteFile(out, []byte(got), 0644)
			continue
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", in, got, want)
		}
	}
}

func FuzzBuildServices(f *testing.F) {
	ins, _ := filepath.Glob("testdata/services/*.in")
	for _, in := range ins {
		data, _ := os.ReadFile(in)
		f.Add(data)
	}
	c, dir := servicesEnv(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		describe(t, c, dir, data)
	})
}
