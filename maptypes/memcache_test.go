package maptypes

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// memcachedPath is Debian's memcached, installed by test/deps.sh.
const memcachedPath = "/usr/bin/memcached"

// StartMemcached starts a private memcached for the test: on a free
// loopback port, or on a UNIX socket in a temporary directory when unix
// is set. It returns the server as a memcache_table(5) "memcache" setting.
// As root the server runs as nobody. The test fails when memcached is
// missing (make test installs it) unless PFGO_NO_REFERENCE is set.
func StartMemcached(t testing.TB, unix bool) string {
	t.Helper()
	if _, err := os.Stat(memcachedPath); err != nil {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skipf("%s missing and PFGO_NO_REFERENCE set", memcachedPath)
		}
		t.Fatalf("%s is missing; run `make test` as root to install it", memcachedPath)
	}
	args := []string{"-U", "0", "-m", "8", "-t", "1"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody")
	}
	var server, network, addr string
	if unix {
		dir := t.TempDir()
		// memcached, running as nobody, creates its socket there.
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		addr = filepath.Join(dir, "memcached.sock")
		args = append(args, "-s", addr, "-a", "0666")
		server, network = "unix:"+addr, "unix"
	} else {
		port := testutil.FreePort(t)
		addr = "127.0.0.1:" + strconv.Itoa(port)
		args = append(args, "-l", "127.0.0.1", "-p", strconv.Itoa(port))
		server, network = "inet:"+addr, "tcp"
	}
	cmd := exec.Command(memcachedPath, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-done:
			t.Fatalf("memcached %q exited: %s", args, stderr.String())
		default:
		}
		if c, err := net.Dial(network, addr); err == nil {
			c.Close()
			return server
		}
	}
	t.Fatalf("memcached %q did not start: %s", args, stderr.String())
	return ""
}

// MemcacheRaw sends request (CRLF-terminated lines) to the memcache
// server and returns the reply up to and including its final line (one
// of END, STORED, DELETED, NOT_FOUND, OK, HD, EN, ERROR or a VA block).
func MemcacheRaw(t testing.TB, server, request string) string {
	t.Helper()
	network, addr, err := splitMemcacheServer(server)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	// One reply per request line that is a command (data lines of "set"
	// follow their command).
	want := 0
	lines := strings.Split(strings.TrimSuffix(request, "\r\n"), "\r\n")
	for i := 0; i < len(lines); i++ {
		want++
		if strings.HasPrefix(lines[i], "set ") {
			i++
		}
	}
	rd := bufio.NewReader(c)
	var b strings.Builder
	for want > 0 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("memcache reply to %q: %v (so far %q)", request, err, b.String())
		}
		b.WriteString(line)
		switch f := strings.Fields(line); {
		case len(f) == 0:
		case f[0] == "VALUE":
		case f[0] == "VA":
			data, err := rd.ReadString('\n')
			if err != nil {
				t.Fatalf("memcache reply to %q: %v", request, err)
			}
			b.WriteString(data)
			want--
		case f[0] == "END" || f[0] == "STORED" || f[0] == "DELETED" || f[0] == "NOT_FOUND" ||
			f[0] == "OK" || f[0] == "HD" || f[0] == "EN" || f[0] == "ERROR" || f[0] == "NS":
			want--
		}
	}
	return b.String()
}

// writeCf writes a memcache settings file and returns its name.
func writeCf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mc.cf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// catchWarn captures Warn and TableWarn for one test; tests that use it
// do not run in parallel with each other.
var warnMu sync.Mutex

func catchWarn(t *testing.T) *[]string {
	warnMu.Lock()
	var got []string
	var mu sync.Mutex
	old, oldTable := Warn, TableWarn
	Warn = func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
	TableWarn = Warn
	t.Cleanup(func() { Warn, TableWarn = old, oldTable; warnMu.Unlock() })
	return &got
}

// TestMemcacheTable runs lookups, updates and deletions against a real
// memcached, with and without a backup table.
func TestMemcacheTable(t *testing.T) {
	server := StartMemcached(t, false)
	warns := catchWarn(t)
	cf := writeCf(t, "memcache = "+server+"\nkey_format = t1:%s\nflags = 5\nttl = 100\ndata_size_limit = 8\n")
	tb, err := Open("memcache:"+cf, Default|Write)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if _, ok, err := tb.Lookup("Key"); ok || err != nil {
		t.Errorf("empty memcache: found=%v err=%v", ok, err)
	}
	if _, err := tb.(Updater).Update("Key", "value"); err != nil {
		t.Fatal(err)
	}
	// Stored under the folded, formatted key, with flags and ttl.
	raw := MemcacheRaw(t, server, "mg t1:key f t v\r\n")
	f := strings.Fields(strings.SplitN(raw, "\r\n", 2)[0])
	if len(f) < 4 || f[0] != "VA" || f[2] != "f5" || !strings.HasPrefix(f[3], "t") || !strings.Contains(raw, "\r\nvalue\r\n") {
		t.Fatalf("stored entry: %q", raw)
	}
	if ttl, _ := strconv.Atoi(f[3][1:]); ttl < 95 || ttl > 100 {
		t.Errorf("ttl %d, want about 100", ttl)
	}
	if v, ok, err := tb.Lookup("KEY"); !ok || err != nil || v != "value" {
		t.Errorf("lookup after update: %q %v %v", v, ok, err)
	}
	// Keys the settings exclude are not looked up; updates warn.
	for _, k := range []string{"", "a b", "tab\tkey"} {
		if _, ok, err := tb.Lookup(k); ok || err != nil {
			t.Errorf("lookup %q: %v %v", k, ok, err)
		}
	}
	*warns = nil
	if _, err := tb.(Updater).Update("a b", "x"); !errors.Is(err, ErrRetry) {
		t.Errorf("update of a key with a space: %v", err)
	}
	if _, err := tb.(Updater).Update("long", "123456789"); !errors.Is(err, ErrRetry) {
		t.Errorf("update with too long data: %v", err)
	}
	want := []string{
		cf + ": skipping update for name \"a b\": name contains space",
		"database memcache:" + cf + ": data for key t1:long is too long (data_size_limit=8) -- not stored",
	}
	if strings.Join(*warns, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(*warns, "\n"), strings.Join(want, "\n"))
	}
	if found, err := tb.(Deleter).Delete("key"); !found || err != nil {
		t.Errorf("delete: %v %v", found, err)
	}
	if found, err := tb.(Deleter).Delete("key"); found || err != nil {
		t.Errorf("second delete: %v %v", found, err)
	}
	*warns = nil
	if err := tb.(Sequencer).Sequence(func(k, v string) bool { t.Errorf("listed %s", k); return true }); err != nil {
		t.Error(err)
	}
	if len(*warns) != 1 || !strings.Contains((*warns)[0], "first/next support requires backup database") {
		t.Errorf("sequence without backup: %q", *warns)
	}
}

// TestMemcacheBackup checks that the backup table answers a memcache miss
// and refills the memcache, and that updates and deletions reach both.
func TestMemcacheBackup(t *testing.T) {
	server := StartMemcached(t, true)
	cf := writeCf(t, "memcache = "+server+"\nkey_format = b:%s\nbackup = internal:backup\n")
	tb, err := Open("memcache:"+cf, Default|Write)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	mt := tb.(*memcacheTable)
	mt.backup.(Updater).Update("only-backup", "from backup")
	if v, ok, err := tb.Lookup("only-backup"); !ok || err != nil || v != "from backup" {
		t.Fatalf("backup lookup: %q %v %v", v, ok, err)
	}
	if raw := MemcacheRaw(t, server, "get b:only-backup\r\n"); raw != "VALUE b:only-backup 0 11\r\nfrom backup\r\nEND\r\n" {
		t.Errorf("memcache not refilled: %q", raw)
	}
	tb.(Updater).Update("both", "2")
	if v, _, _ := mt.backup.Lookup("both"); v != "2" {
		t.Errorf("update did not reach the backup table")
	}
	var listed []string
	tb.(Sequencer).Sequence(func(k, v string) bool { listed = append(listed, k+"="+v); return true })
	if strings.Join(listed, ",") != "both=2,only-backup=from backup" {
		t.Errorf("sequence: %q", listed)
	}
	if found, err := tb.(Deleter).Delete("both"); !found || err != nil {
		t.Errorf("delete: %v %v", found, err)
	}
	if raw := MemcacheRaw(t, server, "get b:both\r\n"); raw != "END\r\n" {
		t.Errorf("delete left the memcache entry: %q", raw)
	}
	// With a backup table a memcache failure is not an error: the
	// backup table's answer counts, as in Postfix.
	mt.client.cfg.Server = "unix:" + filepath.Join(t.TempDir(), "none")
	mt.client.recover()
	if v, ok, err := tb.Lookup("only-backup"); !ok || err != nil || v != "from backup" {
		t.Errorf("lookup with the memcache down: %q %v %v", v, ok, err)
	}
}

// TestMemcacheFailures runs the client against servers that misbehave:
// each failure is tried max_try times and ends in ErrRetry; a server
// that accepts no connection is tried once.
func TestMemcacheFailures(t *testing.T) {
	old := mcRetryPause
	mcRetryPause = func(memcacheConfig) time.Duration { return time.Millisecond }
	defer func() { mcRetryPause = old }()
	warns := catchWarn(t)
	cases := []struct {
		reply string // "" closes the connection
		warn  string
	}{
		{"", "I/O error"},
		{"ERROR\r\n", "unexpected memcache server reply: ERROR"},
		{"VALUE k 0 10\r\nabc", "EOF receiving memcache server reply"},
		{"VALUE k 0 99999\r\n", "unexpected memcache server reply: VALUE k 0 99999"},
		{strings.Repeat("x", 2000) + "\r\n", "I/O error"},
	}
	for _, c := range cases {
		var mu sync.Mutex
		conns := 0
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns++
				mu.Unlock()
				go func() {
					defer conn.Close()
					if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil && c.reply != "" {
						conn.Write([]byte(c.reply))
					}
				}()
			}
		}()
		*warns = nil
		cf := writeCf(t, fmt.Sprintf("memcache = inet:%s\nmax_try = 3\ntimeout = 0\n", ln.Addr()))
		tb, err := Open("memcache:"+cf, Default)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = tb.Lookup("k")
		tb.Close()
		ln.Close()
		if !errors.Is(err, ErrRetry) {
			t.Errorf("reply %.20q: error %v", c.reply, err)
		}
		mu.Lock()
		if conns != 3 {
			t.Errorf("reply %.20q: %d connections, want 3", c.reply, conns)
		}
		mu.Unlock()
		// The first failure is silent, the retries warn.
		if len(*warns) != 2 || !strings.Contains((*warns)[1], c.warn) {
			t.Errorf("reply %.20q: warnings %q, want 2 × %q", c.reply, *warns, c.warn)
		}
	}
	*warns = nil
	cf := writeCf(t, "memcache = unix:/nonexistent/sock\nmax_try = 5\n")
	tb, _ := Open("memcache:"+cf, Default)
	_, _, err := tb.Lookup("k")
	if !errors.Is(err, ErrRetry) || err.Error() != "No such file or directory" ||
		strings.Join(*warns, "|") != "connect to /nonexistent/sock: No such file or directory" {
		t.Errorf("no server: %v, warnings %q", err, *warns)
	}
}

// TestKeyTemplate checks key_format expansion and when a key is skipped.
func TestKeyTemplate(t *testing.T) {
	t.Parallel()
	cases := []struct{ format, key, want string }{
		{"%s", "User@Example.COM", "User@Example.COM"},
		{"a:%u", "user@example.com", "a:user"},
		{"a:%u", "user", "a:user"},
		{"a:%u", "@example.com", ""},
		{"%d", "user", ""},
		{"%d", "user@", ""},
		{"%d", "@example.com", "example.com"},
		{"%1.%2", "u@a..example.com", "com.example"},
		{"%3", "u@example.com", ""},
		{"%%%S%%", "k", "%k%"},
		{"%U-%D", "a@b@c", "a@b-c"},
	}
	for _, c := range cases {
		tmpl, err := parseKeyTemplate("x", c.format)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tmpl.expand(c.key)
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("%q with %q: %q, want %q", c.format, c.key, got, c.want)
		}
	}
}
