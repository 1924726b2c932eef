package maptypes_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
	"github.com/postfix-go/postfix/maptypes"
)

// The differential tests of internal:, nis: and memcache: run Debian's
// postmap and ours on the same files, each in its own directory with a
// main.cf ("-c ."), and compare standard output, standard error and the
// exit status.

const diffMainCF = "compatibility_level = 3.6\nmyhostname = test.example\n"

// diffDir writes files (main.cf added) into a new directory, back-dated
// by an hour: Postfix rereads a configuration file while it is younger
// than a second, repeating its warnings.
func diffDir(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	old := time.Now().Add(-time.Hour)
	all := map[string]string{"main.cf": diffMainCF}
	for k, v := range files {
		all[k] = v
	}
	for name, data := range all {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// diffCase is one command line run by both programs; before, when set,
// runs before each program (to put the memcache in a known state) and
// after returns state to compare after each (such as a memcache entry).
type diffCase struct {
	prog   string // "postmap" (default) or "postalias"
	args   []string
	stdin  string
	before func()
	after  func() string
	// sorted compares standard output as a sorted set of lines (listing
	// order is hash order in Postfix).
	sorted bool
}

// runDiff runs each case with Debian's program and ours in dir and
// reports every difference. Cases without before and after run at once
// (Postfix's fatal errors take a second each); the others in turn.
func runDiff(t *testing.T, dir string, cases []diffCase) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range cases {
		if c.before == nil && c.after == nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runCase(t, dir, c)
			}()
		} else {
			runCase(t, dir, c)
		}
	}
	wg.Wait()
}

// runCase runs one case with both programs and compares the results.
func runCase(t *testing.T, dir string, c diffCase) {
	prog := c.prog
	if prog == "" {
		prog = "postmap"
	}
	ref := testutil.Reference(t, "/usr/sbin/"+prog)
	ours := testutil.Bin(t, prog)
	args := append([]string{"-c", "."}, c.args...)
	var stdin []byte
	if c.stdin != "" {
		stdin = []byte(c.stdin)
	}
	var res [2]testutil.Result
	var state [2]string
	for i, bin := range []string{ref, ours} {
		if c.before != nil {
			c.before()
		}
		res[i] = testutil.Run(t, dir, bin, prog, stdin, args...)
		if c.after != nil {
			state[i] = c.after()
		}
	}
	want, got := res[0], res[1]
	if c.sorted {
		want.Stdout, got.Stdout = sortLines(want.Stdout), sortLines(got.Stdout)
	}
	if want.Stdout != got.Stdout || want.Stderr != got.Stderr || want.Exit != got.Exit || state[0] != state[1] {
		t.Errorf("%s %q:\nwant exit %d stdout:\n%s\nstderr:\n%s\nstate: %q\ngot exit %d stdout:\n%s\nstderr:\n%s\nstate: %q",
			prog, c.args, want.Exit, want.Stdout, want.Stderr, state[0], got.Exit, got.Stdout, got.Stderr, state[1])
	}
}

func sortLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}

// TestInternalDiff: internal: tables in postmap and postalias.
func TestInternalDiff(t *testing.T) {
	t.Parallel()
	dir := diffDir(t, map[string]string{"src": "a b\nc d\n"})
	var cases []diffCase
	for _, prog := range []string{"postmap", "postalias"} {
		cases = append(cases,
			diffCase{prog: prog, args: []string{"-q", "a", "internal:src"}},
			diffCase{prog: prog, args: []string{"-q", "-", "internal:src"}, stdin: "a\nc\n"},
			diffCase{prog: prog, args: []string{"internal:src"}},
			diffCase{prog: prog, args: []string{"internal:missing"}},
			diffCase{prog: prog, args: []string{"-i", "internal:src"}, stdin: "a b\n"},
			diffCase{prog: prog, args: []string{"-s", "internal:src"}},
			diffCase{prog: prog, args: []string{"-d", "a", "internal:src"}},
		)
	}
	runDiff(t, dir, cases)
}

// TestNISDiff: nis: on a host without a NIS domain name, the only kind
// of host the reference can be compared on.
func TestNISDiff(t *testing.T) {
	t.Parallel()
	if d, err := os.ReadFile("/proc/sys/kernel/domainname"); err != nil || strings.TrimSpace(string(d)) != "(none)" {
		t.Skipf("this host has a NIS domain name (%q): Debian's postmap would query NIS", d)
	}
	dir := diffDir(t, nil)
	runDiff(t, dir, []diffCase{
		{args: []string{"-q", "root", "nis:mail.aliases"}},
		{args: []string{"-q", "root", "nis:mail.aliases", "nis:other"}},
		{args: []string{"-q", "-", "nis:mail.aliases", "nis:other"}, stdin: "root\npostmaster\n"},
		{args: []string{"-s", "nis:mail.aliases"}},
		{args: []string{"-d", "root", "nis:mail.aliases"}},
		{args: []string{"nis:mail.aliases"}},
		{args: []string{"-q", "x", "nis:"}},
		{prog: "postalias", args: []string{"-q", "root", "nis:mail.aliases"}},
	})
}

// TestMemcacheConfigDiff runs both postmaps on each settings file of the
// golden test and checks that the golden file's diagnostics are
// Debian's. The runs go at once: Postfix's fatal errors take a second.
func TestMemcacheConfigDiff(t *testing.T) {
	t.Parallel()
	ins, err := filepath.Glob("testdata/memcache/*.in")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	files := map[string]string{}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(in)] = string(data)
	}
	dir := diffDir(t, files)
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	ours := testutil.Bin(t, "postmap")
	var wg sync.WaitGroup
	for _, in := range ins {
		out, err := os.ReadFile(strings.TrimSuffix(in, ".in") + ".out")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"-c", ".", "-q", "foo", "memcache:./" + filepath.Base(in)}
			want := testutil.Run(t, dir, ref, "postmap", nil, args...)
			got := testutil.Run(t, dir, ours, "postmap", nil, args...)
			if want.Stdout != got.Stdout || want.Stderr != got.Stderr || want.Exit != got.Exit {
				t.Errorf("%s: want exit %d, stderr:\n%s\ngot exit %d, stderr:\n%s", in, want.Exit, want.Stderr, got.Exit, got.Stderr)
			}
			for _, line := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(line, "warning: ") || strings.HasPrefix(line, "fatal: ") {
					if !strings.Contains(want.Stderr, "postmap: "+line+"\n") {
						t.Errorf("%s: golden %q is not in Debian's diagnostics:\n%s", in, line, want.Stderr)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestMemcacheDiff: lookups, deletions, listings, key formats, domain
// lists and backup tables against a real memcached.
func TestMemcacheDiff(t *testing.T) {
	t.Parallel()
	server := maptypes.StartMemcached(t, false)
	unixServer := maptypes.StartMemcached(t, true)
	seed := func(srv string) func() {
		return func() {
			maptypes.MemcacheRaw(t, srv, "flush_all\r\n"+
				"set k:foo 0 0 3\r\nbar\r\n"+
				"set k:user@example.com 3 0 5\r\nfound\r\n"+
				"set d:u@example.com 0 0 1\r\n1\r\n"+
				"set d:u@tab.example 0 0 1\r\n2\r\n"+
				"set d:@example.com 0 0 1\r\n3\r\n"+
				"set d:example.com 0 0 1\r\n4\r\n"+
				"set d:u@bad.example.com 0 0 1\r\n5\r\n"+
				"set u 0 0 1\r\nU\r\n"+
				"set example.com 0 0 1\r\nD\r\n"+
				"set com.example 0 0 1\r\nL\r\n")
		}
	}
	get := func(srv, key string) func() string {
		return func() string { return maptypes.MemcacheRaw(t, srv, "mg "+key+" f v\r\n") }
	}
	files := map[string]string{
		"mc.cf":   "memcache = " + server + "\nkey_format = k:%s\n",
		"unix.cf": "memcache = " + unixServer + "\nkey_format = k:%s\n",
		"bk.cf": "memcache = " + server + "\nkey_format = b:%s\nflags = 9\n" +
			"backup = inline:{k1=v1, {k2 = value two}, big=0123456789}\ndata_size_limit = 5\n",
		"bi.cf":   "memcache = " + server + "\nkey_format = k:%s\nbackup = internal:x\n",
		"dom.cf":  "memcache = " + server + "\nkey_format = d:%s\ndomain = Example.com, !bad.example.com, inline:{tab.example=1}\n",
		"user.cf": "memcache = " + server + "\nkey_format = %u\n",
		"dom2.cf": "memcache = " + server + "\nkey_format = %d\n",
		"lab.cf":  "memcache = " + server + "\nkey_format = %1.%2\n",
	}
	dir := diffDir(t, files)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(diffMainCF+"mcsrv = "+server+"\nleg_memcache = $mcsrv\nleg_key_format = k:%s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(dir, "main.cf"), old, old)
	s, u := seed(server), seed(unixServer)
	cases := []diffCase{
		{args: []string{"-q", "foo", "memcache:./mc.cf"}, before: s},
		{args: []string{"-q", "FOO", "memcache:./mc.cf"}, before: s},
		{args: []string{"-q", "missing", "memcache:./mc.cf"}, before: s},
		{args: []string{"-q", "a b", "memcache:./mc.cf"}, before: s},
		{args: []string{"-q", "", "memcache:./mc.cf"}, before: s},
		{args: []string{"-q", "-", "memcache:./mc.cf"}, stdin: "foo\nx\nUser@Example.com\n\na b\n", before: s},
		{args: []string{"-q", "foo", "memcache:./unix.cf"}, before: u},
		{args: []string{"-q", "foo", "memcache:leg"}, before: s},
		{args: []string{"-d", "foo", "memcache:./mc.cf"}, before: s, after: get(server, "k:foo")},
		{args: []string{"-d", "missing", "memcache:./mc.cf"}, before: s},
		{args: []string{"-s", "memcache:./mc.cf"}, before: s},
		{args: []string{"-q", "K1", "memcache:./bk.cf"}, before: s, after: get(server, "b:k1")},
		{args: []string{"-q", "k2", "memcache:./bk.cf"}, before: s, after: get(server, "b:k2")},
		{args: []string{"-q", "big", "memcache:./bk.cf"}, before: s, after: get(server, "b:big")},
		{args: []string{"-q", "none", "memcache:./bk.cf"}, before: s},
		{args: []string{"-s", "memcache:./bk.cf"}, before: s, sorted: true},
		{args: []string{"-d", "k1", "memcache:./bk.cf"}, before: s},
		{args: []string{"-d", "foo", "memcache:./bi.cf"}, before: s, after: get(server, "k:foo")},
		{args: []string{"-q", "foo", "memcache:./bi.cf"}, before: s},
		{args: []string{"memcache:./mc.cf"}},
		{args: []string{"-q", "foo", "memcache:./nonexistent.cf"}},
	}
	for _, k := range []string{"U@EXAMPLE.COM", "u@tab.example", "@example.com", "u@bad.example.com"} {
		cases = append(cases, diffCase{args: []string{"-q", k, "memcache:./dom.cf"}, before: s})
	}
	for _, cf := range []string{"user.cf", "dom2.cf", "lab.cf"} {
		for _, k := range []string{"u@example.com", "u", "@example.com", "u@a..example.com"} {
			cases = append(cases, diffCase{args: []string{"-q", k, "memcache:./" + cf}, before: s})
		}
	}
	runDiff(t, dir, cases)
}

// misbehave serves each connection by reading one request line,
// answering reply and closing ("" closes at once, "-" answers nothing).
func misbehave(t *testing.T, reply string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := bufio.NewReader(c).ReadString('\n'); err != nil || reply == "" {
					return
				}
				if reply == "-" {
					time.Sleep(3 * time.Second)
					return
				}
				c.Write([]byte(reply))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestMemcacheFailureDiff: servers that close the connection, answer
// nonsense, send too little or too much, or answer nothing; the
// warnings on each retry and the final error are compared, with both
// the blocking (timeout = 0) and the timed client.
func TestMemcacheFailureDiff(t *testing.T) {
	t.Parallel()
	replies := map[string]string{
		"close": "", "error": "ERROR\r\n", "short": "VALUE k 0 10\r\nabc",
		"big": "VALUE k 0 99999\r\n", "long": strings.Repeat("x", 1500) + "\r\n", "silent": "-",
	}
	var wg sync.WaitGroup
	for name, reply := range replies {
		for _, timeout := range []int{0, 1} {
			if name == "silent" && timeout == 0 {
				continue // would wait forever, in both
			}
			args := [][]string{{"-q", "foo", "memcache:./f.cf"}}
			if name == "error" {
				args = append(args, []string{"-d", "foo", "memcache:./f.cf"})
			}
			for _, a := range args {
				addr := misbehave(t, reply)
				dir := diffDir(t, map[string]string{
					"f.cf": fmt.Sprintf("memcache = inet:%s\nmax_try = 2\ntimeout = %d\n", addr, timeout),
				})
				// Each run sleeps for retry_pause; run them all at once.
				wg.Add(1)
				go func() {
					defer wg.Done()
					runDiff(t, dir, []diffCase{{args: a}})
				}()
			}
		}
	}
	wg.Wait()
}
