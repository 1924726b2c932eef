package proxymap

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/maptypes"
)

// The differential tests start Debian's Postfix and ours as private mail
// systems (internal/flowtest) with the same proxy_read_maps and
// proxy_write_maps, then talk to each proxymap with raw requests, with
// our client (maptypes) and with both postmap commands, crossing them:
// our client against Debian's proxymap and Debian's postmap against
// ours.

const refMain = "proxy_read_maps = proxy:hash:$config_directory/t, proxy:fail:x\n" +
	"  proxy:unix:passwd.byname proxy:proxy:texthash:$config_directory/t proxy:hash:$config_directory/missing\n" +
	"  proxy:regexp:$config_directory/re proxy:static:fixed-answer proxy:inline:{k1=v1}\n" +
	"proxy_write_maps = proxy:hash:$config_directory/w\n"

const tableText = "a 1\nBig Val\nuser@example.com ok\n"

// startPair starts Debian's system and ours, each with the tables built by
// its own postmap.
func startPair(t *testing.T) (ref, ours *flowtest.System) {
	ref = flowtest.NewReferenceWithMaster(t, refMain, "proxywrite unix - - n - 1 proxymap\n")
	ours = flowtest.New(t, refMain)
	for _, s := range []*flowtest.System{ref, ours} {
		s.WriteFile("t", tableText)
		s.WriteFile("w", "w1 one\n")
		s.WriteFile("re", "/^x(.*)$/ got $1\n")
		for _, tb := range []string{"t", "w"} {
			if r := s.Command("postmap", "", filepath.Join(s.Etc, tb)); r.Exit != 0 {
				t.Fatalf("postmap: %s", r.Stderr)
			}
		}
		// proxywrite runs as mail_owner and must write the table.
		if os.Geteuid() == 0 {
			for _, f := range []string{"w", "w.db"} {
				_ = os.Chmod(filepath.Join(s.Etc, f), 0o666)
			}
			_ = os.Chmod(s.Etc, 0o777)
		}
		s.Backdate()
		s.Start()
	}
	return ref, ours
}

// exchange sends raw request records to a system's service and returns
// each reply record, with the configuration directory written as ETC.
func exchange(t *testing.T, s *flowtest.System, service string, reqs [][]attr.Attr) []string {
	t.Helper()
	c, err := net.Dial("unix", filepath.Join(s.Queue, "private", service))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	dec := attr.NewDecoder(c, attr.Zero)
	var out []string
	read := func() {
		rec, err := dec.ReadRecord()
		if err != nil {
			out = append(out, "error: "+err.Error())
			return
		}
		out = append(out, strings.ReplaceAll(fmt.Sprint(rec), s.Etc, "ETC"))
	}
	read()
	for _, r := range reqs {
		b, err := attr.Marshal(attr.Zero, r...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(strings.ReplaceAll(string(b), "ETC", s.Etc))); err != nil {
			t.Fatal(err)
		}
		read()
	}
	return out
}

// seqFirst is the index of the first sequence reply in
// TestProxymapMatchesPostfix.
const seqFirst = 24

func req(name, table string, flags uint32, rest ...attr.Attr) []attr.Attr {
	return append([]attr.Attr{attr.Str("request", name), attr.Str("table", table), attr.Int("flags", flags)}, rest...)
}

func key(k string) attr.Attr { return attr.Str("key", k) }

// proxyLog returns the proxymap lines of a system's log without time,
// host and process ID, with the configuration directory written as ETC.
func proxyLog(s *flowtest.System) []string {
	rx := regexp.MustCompile(`^.*? postfix/(proxymap|postmap)\[\d+\]: `)
	var out []string
	for _, l := range s.LogLines(`postfix/(proxymap|postmap)\[`) {
		out = append(out, strings.ReplaceAll(rx.ReplaceAllString(l, "$1: "), s.Etc, "ETC"))
	}
	return out
}

// waitLog waits until s has logged a line that contains last and returns
// the proxymap lines.
func waitLog(t *testing.T, s *flowtest.System, last string) []string {
	t.Helper()
	s.WaitLog(regexp.QuoteMeta(last), 10*time.Second)
	return proxyLog(s)
}

func TestProxymapMatchesPostfix(t *testing.T) {
	ref, ours := startPair(t)
	const utf8Lock = maptypes.DictUTF8Request | maptypes.DictLock | maptypes.DictDupWarn
	reads := [][]attr.Attr{
		req("open", "hash:ETC/t", 0),
		req("open", "proxy:hash:ETC/t", maptypes.DictTry0Null),
		req("open", "fail:x", 0),
		req("open", "unix:passwd.byname", 0),
		req("open", "regexp:ETC/re", 0),
		req("open", "static:fixed-answer", 0),
		req("open", "hash:/unlisted", 0),
		req("open", "nocolon", 0),
		// A client opens a table that cannot be opened (the instance
		// flags only, as Postfix's daemons send), then looks it up with
		// its per-request flags: one instance, one "error:" line.
		req("open", "hash:ETC/missing", 0),
		req("lookup", "hash:ETC/t", utf8Lock, key("a")),
		req("lookup", "hash:ETC/t", utf8Lock, key("A")),
		req("lookup", "hash:ETC/t", utf8Lock|maptypes.DictFoldFix, key("BIG")),
		req("lookup", "hash:ETC/t", utf8Lock, key("missing")),
		req("lookup", "texthash:ETC/t", utf8Lock, key("user@example.com")),
		// Opened without folding, the texthash instance keeps "Big": a
		// folded key does not find it.
		req("lookup", "texthash:ETC/t", utf8Lock|maptypes.DictFoldFix, key("BIG")),
		req("lookup", "proxy:proxy:texthash:ETC/t", 0, key("big")),
		req("lookup", "hash:ETC/missing", 0, key("a")),
		req("lookup", "fail:x", 0, key("a")),
		req("lookup", "unix:passwd.byname", 0, key("root")),
		req("lookup", "regexp:ETC/re", 0, key("xyz")),
		req("lookup", "static:fixed-answer", 0, key("anything")),
		req("lookup", "inline:{k1=v1}", maptypes.DictFoldFix, key("K1")),
		req("lookup", "hash:/unlisted", 0, key("a")),
		// seqFirst: the reply to this request (after the announcement).
		req("sequence", "hash:ETC/t", 0, attr.Int("function", 0)),
		req("sequence", "hash:ETC/t", 0, attr.Int("function", 1)),
		req("sequence", "hash:ETC/t", 0, attr.Int("function", 1)),
		req("sequence", "hash:ETC/t", 0, attr.Int("function", 1)),
		req("sequence", "hash:ETC/t", 0, attr.Int("function", 7)),
		req("update", "hash:ETC/t", 0, key("k"), attr.Str("value", "v")),
		req("delete", "hash:ETC/t", 0, key("k")),
		// The table that cannot be opened, asked with the UTF-8 flag:
		// the same instance, which says again that it is unavailable;
		// other null-byte flags make another instance, which logs its
		// own "error:" line.
		req("lookup", "hash:ETC/missing", utf8Lock, key("b")),
		req("lookup", "hash:ETC/missing", maptypes.DictTry1Null|maptypes.DictLock, key("b")),
		req("open", "hash:ETC/missing", 0),
		{attr.Str("request", "bogus"), attr.Str("table", "x")},
		req("lookup", "hash:ETC/t", 0, key("a")),
		// The open reply: the table's bits, the instance flags and the
		// per-request flags of the latest request. (Not asked again
		// of a hash table that has answered lookups: Postfix's then
		// drops the null-byte form that it did not need, see doc.go.)
		req("open", "inline:{k1=v1}", maptypes.DictTry0Null),
		req("open", "hash:ETC/t", maptypes.DictTry1Null),
	}
	writes := [][]attr.Attr{
		req("lookup", "hash:ETC/w", 0, key("w1")),
		req("update", "hash:ETC/w", 0, key("w2"), attr.Str("value", "two")),
		req("lookup", "hash:ETC/w", 0, key("w2")),
		req("delete", "hash:ETC/w", 0, key("w1")),
		req("delete", "hash:ETC/w", 0, key("w1")),
		req("lookup", "hash:ETC/w", 0, key("w1")),
		req("update", "hash:ETC/t", 0, key("k"), attr.Str("value", "v")),
		// A lookup without its flags: status 3, and a warning.
		{attr.Str("request", "lookup"), attr.Str("table", "hash:ETC/w"), key("a")},
	}
	var replies, repliesW, logs [2][]string
	for i, s := range []*flowtest.System{ref, ours} {
		replies[i] = exchange(t, s, "proxymap", reads)
		repliesW[i] = exchange(t, s, "proxywrite", writes)
	}
	// Debian's hash tables list their entries in Berkeley DB's order,
	// ours in key order: compare the three entries as a set.
	for i := range replies {
		sort.Strings(replies[i][seqFirst : seqFirst+3])
	}
	compare(t, "proxymap replies", replies[0], replies[1])
	compare(t, "proxywrite replies", repliesW[0], repliesW[1])
	for i, s := range []*flowtest.System{ref, ours} {
		logs[i] = waitLog(t, s, "unexpected attribute key from proxywrite socket")
	}
	compare(t, "log lines", logs[0], logs[1])
	t.Run("clients crossed", func(t *testing.T) { clientsCrossed(t, ref, ours) })
	t.Run("table changed", func(t *testing.T) {
		var lines [2]string
		for i, s := range []*flowtest.System{ref, ours} {
			// A later modification time than the open table's.
			s.WriteFile("t", tableText+"new entry\n")
			future := time.Now().Add(time.Minute)
			db := filepath.Join(s.Etc, "t.db")
			if r := s.Command("postmap", "", filepath.Join(s.Etc, "t")); r.Exit != 0 {
				t.Fatalf("postmap: %s", r.Stderr)
			}
			_ = os.Chtimes(db, future, future)
			c, err := net.Dial("unix", filepath.Join(s.Queue, "private", "proxymap"))
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			line := s.WaitLog(`proxymap\[\d+\]: table .* has changed`, 10*time.Second)
			lines[i] = strings.ReplaceAll(regexp.MustCompile(`^.*?\]: `).ReplaceAllString(line, ""), s.Etc, "ETC")
			// When the table is open with several flag sets (the crossed
			// clients asked with theirs), Postfix names whichever
			// instance its hash table lists first.
			lines[i] = regexp.MustCompile(`:[a-z0-9_|]* has changed`).ReplaceAllString(lines[i], ":FLAGS has changed")
		}
		if lines[0] != lines[1] {
			t.Errorf("Postfix logs %q, ours %q", lines[0], lines[1])
		}
	})
}

func compare(t *testing.T, what string, want, got []string) {
	t.Helper()
	n := max(len(want), len(got))
	for i := 0; i < n; i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("%s #%d:\n Postfix: %s\n ours:    %s", what, i, w, g)
		}
	}
}

// clientsCrossed runs our client against Debian's proxymap and Debian's
// postmap against ours.
func clientsCrossed(t *testing.T, ref, ours *flowtest.System) {
	// Our client in this process, against each proxymap.
	type result struct{ v, err string }
	look := func(s *flowtest.System, table, k string) result {
		c, err := conf.Load(s.Etc)
		if err != nil {
			t.Fatal(err)
		}
		maptypes.MainConfig = func() *conf.Config { return c }
		defer func() { maptypes.MainConfig = nil }()
		tb, err := maptypes.Open("proxy:"+strings.ReplaceAll(table, "ETC", s.Etc), maptypes.Default)
		if err != nil {
			return result{err: "open: " + strings.ReplaceAll(err.Error(), s.Etc, "ETC")}
		}
		defer tb.Close()
		if _, ok := tb.(interface {
			Update(string, string) (bool, error)
		}); !ok {
			t.Errorf("proxy table is not an Updater")
		}
		v, ok, err := tb.Lookup(k)
		switch {
		case err != nil && errors.Is(err, maptypes.ErrRetry):
			return result{err: "retry: " + err.Error()}
		case err != nil:
			return result{err: err.Error()}
		case !ok:
			return result{err: "not found"}
		}
		return result{v: v}
	}
	for _, c := range []struct {
		table, key string
		want       result
	}{
		{"hash:ETC/t", "a", result{v: "1"}},
		{"hash:ETC/t", "BIG", result{v: "Val"}},
		{"hash:ETC/t", "nothere", result{err: "not found"}},
		{"fail:x", "a", result{err: "retry: Application error"}},
		{"hash:/unlisted", "a", result{err: "open: proxymap service is not configured for table \"hash:/unlisted\""}},
		{"unix:passwd.byname", "root", result{v: rootEntry(t)}},
		{"regexp:ETC/re", "xQ", result{v: "got Q"}},
	} {
		if got := look(ref, c.table, c.key); got != c.want {
			t.Errorf("our client, %s %s, Debian's proxymap: %+v, want %+v", c.table, c.key, got, c.want)
		}
		if got := look(ours, c.table, c.key); got != c.want {
			t.Errorf("our client, %s %s, our proxymap: %+v, want %+v", c.table, c.key, got, c.want)
		}
	}

	// Both postmap commands against both proxymaps: same output, same
	// exit status, same diagnostics.
	postmap := func(cmdSys, target *flowtest.System, args ...string) string {
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "ETC", target.Etc)
		}
		r := cmdSys.Command("postmap", "", append([]string{"-c", target.Etc}, args...)...)
		return strings.ReplaceAll(fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Exit, r.Stdout, r.Stderr), target.Etc, "ETC")
	}
	for _, args := range [][]string{
		{"-q", "a", "proxy:hash:ETC/t"},
		{"-q", "Big", "proxy:hash:ETC/t"},
		{"-q", "nothere", "proxy:hash:ETC/t"},
		{"-q", "a", "proxy:hash:/unlisted"},
		{"-q", "root", "proxy:unix:passwd.byname"},
		{"-q", "a", "proxy:fail:x"},
	} {
		// Debian's postmap with Debian's proxymap is the reference for
		// each crossing.
		want := postmap(ref, ref, append([]string(nil), args...)...)
		if got := postmap(ref, ours, append([]string(nil), args...)...); got != want {
			t.Errorf("Debian's postmap %v: with Debian's proxymap %s\nwith ours %s", args, want, got)
		}
		if got := postmap(ours, ref, append([]string(nil), args...)...); got != want {
			t.Errorf("our postmap %v: with Debian's proxymap %s\nwith Debian's own %s", args, got, want)
		}
	}
}

// rootEntry is root's line of /etc/passwd.
func rootEntry(t *testing.T) string {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "root:") {
			return l
		}
	}
	t.Fatal("no root in /etc/passwd")
	return ""
}
