package proxymap

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/maptypes"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.out")

// transcript collects log lines and decoded replies in the order the
// server produced them.
type transcript struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (tr *transcript) logger() Logger {
	line := func(sev string) func(string, ...any) {
		return func(format string, args ...any) {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			fmt.Fprintf(&tr.buf, "proxymap: %s%s\n", sev, fmt.Sprintf(format, args...))
		}
	}
	return Logger{Warn: line("warning: "), Info: line(""), Error: line("error: ")}
}

// replyWriter decodes what the server writes, one record per flush.
type replyWriter struct{ tr *transcript }

func (w replyWriter) Write(p []byte) (int, error) {
	d := attr.NewDecoder(bytes.NewReader(p), attr.Zero)
	w.tr.mu.Lock()
	defer w.tr.mu.Unlock()
	for {
		rec, err := d.ReadRecord()
		if err != nil {
			break
		}
		w.tr.buf.WriteString("reply:")
		for _, a := range rec {
			fmt.Fprintf(&w.tr.buf, " %s=%s", a.Name, strconv.Quote(a.Value))
		}
		w.tr.buf.WriteString("\n")
	}
	return len(p), nil
}

type rw struct {
	io.Reader
	io.Writer
}

// testConfig is a main.cf with the given approved tables.
func testConfig(read, write string) *conf.Config {
	c := conf.New(os.TempDir(), nil)
	c.Set("proxy_read_maps", read)
	c.Set("proxy_write_maps", write)
	return c
}

const goldenRead = "proxy:texthash:testdata/t, proxy:fail:x proxy:proxy:inline:{K1=v1}\n" +
	"   proxy:regexp:testdata/missing  proxy:static:answer nocolon proxy:nocolon hash:/not-proxied"

// encodeScript turns the lines of a golden input into request records:
// "name=value ..." per record (values are Go-quoted when they start with
// a double quote); "raw "+Go string is sent as it is.
func encodeScript(t *testing.T, text string) []byte {
	var out []byte
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if raw, ok := strings.CutPrefix(line, "raw "); ok {
			s, err := strconv.Unquote(raw)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			out = append(out, s...)
			continue
		}
		var attrs []attr.Attr
		for _, f := range strings.Fields(line) {
			name, value, _ := strings.Cut(f, "=")
			if strings.HasPrefix(value, `"`) {
				v, err := strconv.Unquote(value)
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				value = v
			}
			attrs = append(attrs, attr.Str(name, value))
		}
		b, err := attr.Marshal(attr.Zero, attrs...)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

// TestGolden runs each testdata/golden/SERVICE-NAME.in through a server
// for SERVICE and compares its log lines and replies with NAME.out.
func TestGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			service, _, _ := strings.Cut(filepath.Base(in), "-")
			tr := &transcript{}
			s, err := New(service, testConfig(goldenRead, "proxy:texthash:testdata/t"), tr.logger())
			if err != nil {
				t.Fatal(err)
			}
			s.Serve(rw{bytes.NewReader(encodeScript(t, string(text))), replyWriter{tr}})
			got := tr.buf.String()
			outPath := strings.TrimSuffix(in, ".in") + ".out"
			if *update {
				if err := os.WriteFile(outPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s:\n--- got\n%s--- want\n%s", outPath, got, want)
			}
		})
	}
}

func TestServiceName(t *testing.T) {
	_, err := New("other", testConfig("", ""), Logger{})
	if err == nil || err.Error() != "service name must be one of proxymap or proxymap" {
		t.Errorf("New(other): %v", err)
	}
	c := testConfig("", "")
	c.Set("proxywrite_service_name", "pw")
	if s, err := New("pw", c, Logger{}); err != nil || !s.writer {
		t.Errorf("New(pw) with proxywrite_service_name=pw: %v", err)
	}
}

// TestWriter updates and deletes through a proxywrite server and checks
// the table file afterwards, in this process.
func TestWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w")
	b, err := maptypes.Create("hash", path, maptypes.Default)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Add("old", "1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	tr := &transcript{}
	s, err := New("proxywrite", testConfig("", "proxy:hash:"+path), tr.logger())
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`request=update table=hash:%[1]s flags=0 key=new value=2
request=update table=hash:%[1]s flags=0 key=old value=replaced
request=delete table=hash:%[1]s flags=0 key=gone
request=lookup table=hash:%[1]s flags=0 key=old
request=sequence table=hash:%[1]s flags=0 function=0
request=sequence table=hash:%[1]s flags=0 function=1
request=sequence table=hash:%[1]s flags=0 function=1
`, path)
	s.Serve(rw{bytes.NewReader(encodeScript(t, script)), replyWriter{tr}})
	want := `reply: protocol="proxymap_protocol"
reply: status="0"
reply: status="0"
reply: status="1"
reply: status="0" value="replaced"
reply: status="0" key="new" value="2"
reply: status="0" key="old" value="replaced"
reply: status="1" key="" value=""
`
	if got := tr.buf.String(); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
	tb, err := maptypes.Open("hash:"+path, maptypes.Default)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	for k, want := range map[string]string{"new": "2", "old": "replaced"} {
		if v, ok, err := tb.Lookup(k); v != want || !ok || err != nil {
			t.Errorf("after updates, %s = %q %v %v", k, v, ok, err)
		}
	}
}

// TestChanged: a rebuilt table file is noticed, so that the daemon
// restarts.
func TestChanged(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "t")
	if err := os.WriteFile(src, []byte("a 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tr := &transcript{}
	s, err := New("proxymap", testConfig("proxy:texthash:"+src, ""), tr.logger())
	if err != nil {
		t.Fatal(err)
	}
	s.Serve(rw{bytes.NewReader(encodeScript(t, "request=lookup table=texthash:"+src+" flags=0 key=a")), replyWriter{tr}})
	if name := s.Changed(); name != "" {
		t.Fatalf("Changed before a rebuild: %q", name)
	}
	if err := os.WriteFile(src, []byte("a 2\nb 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if name := s.Changed(); name != "texthash:"+src+":" {
		t.Errorf("Changed after a rebuild: %q", name)
	}
}

// TestClientOverPipe runs our client against our server on a socket in a
// temporary queue directory: lookups, a missing key, a temporary failure,
// and a refused table.
func TestClientOverPipe(t *testing.T) {
	q := t.TempDir()
	if err := os.MkdirAll(filepath.Join(q, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	tr := &transcript{}
	s, err := New("proxymap", testConfig("proxy:inline:{a=1} proxy:inline:{b=2} proxy:fail:x", ""), tr.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, filepath.Join(q, "private", "proxymap"), s)
	defer ln.Close()
	c := conf.New(os.TempDir(), nil)
	c.Set("queue_directory", q)
	maptypes.MainConfig = func() *conf.Config { return c }
	defer func() { maptypes.MainConfig = nil }()

	for spec, k := range map[string]string{"inline:{a=1}": "A", "inline:{b=2}": "B"} {
		tb, err := maptypes.Open("proxy:"+spec, maptypes.Default)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, err := tb.Lookup(k); v == "" || !ok || err != nil {
			t.Errorf("lookup %s in %s: %q %v %v", k, spec, v, ok, err)
		}
	}
	tb, err := maptypes.Open("proxy:inline:{a=1}", maptypes.Default)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := tb.Lookup("zz"); ok || err != nil {
		t.Errorf("lookup zz: %q %v %v", v, ok, err)
	}
	ft, err := maptypes.Open("proxy:fail:x", maptypes.Default)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ft.Lookup("a"); !errors.Is(err, maptypes.ErrRetry) {
		t.Errorf("lookup in fail:x: %v, want a temporary failure", err)
	}
	_, err = maptypes.Open("proxy:inline:{c=3}", maptypes.Default)
	var denied *maptypes.ProxyDeniedError
	if !errors.As(err, &denied) || err.Error() != `proxymap service is not configured for table "inline:{c=3}"` {
		t.Errorf("open of an unlisted table: %v", err)
	}
	want := "proxymap: warning: request for unapproved table: \"inline:{c=3}\"\n" +
		"proxymap: warning: to approve this table for read-only access, list proxy:inline:{c=3} in main.cf:proxy_read_maps\n"
	if got := tr.buf.String(); got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

// TestClientWithoutProxymap: with no socket, and with a socket that
// nobody listens on (a stopped system), a command opens the table itself.
func TestClientWithoutProxymap(t *testing.T) {
	q := t.TempDir()
	c := conf.New(os.TempDir(), nil)
	c.Set("queue_directory", q)
	maptypes.MainConfig = func() *conf.Config { return c }
	defer func() { maptypes.MainConfig = nil }()
	check := func(when string) {
		t.Helper()
		tb, err := maptypes.Open("proxy:inline:{a=1}", maptypes.Default)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if v, ok, err := tb.Lookup("a"); v != "1" || !ok || err != nil {
			t.Errorf("%s: lookup a: %q %v %v", when, v, ok, err)
		}
	}
	check("no private directory")
	if err := os.MkdirAll(filepath.Join(q, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln := listen(t, filepath.Join(q, "private", "proxymap"), nil)
	ln.Close() // the socket file stays; connections are refused
	check("stale socket")
}
