package conf

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

// refRun is one postconf run over a main.cf.
type refRun struct {
	mainCf string
	args   []string
	res    testutil.Result
}

// runPostconfAll runs the real postconf for every entry side by side (each
// run takes seconds on some machines).
func runPostconfAll(t *testing.T, runs []*refRun) {
	t.Helper()
	ref := testutil.Reference(t, "/usr/sbin/postconf")
	var wg sync.WaitGroup
	for _, r := range runs {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "main.cf"), r.mainCf)
		writeFile(t, filepath.Join(dir, "master.cf"), "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.res = testutil.Run(t, dir, ref, "postconf", nil, append([]string{"-c", dir}, r.args...)...)
		}()
	}
	wg.Wait()
}

// expect turns our (value, error) into postconf's output.
func expect(v string, err error) (stdout, stderr string) {
	if err != nil {
		return "", "postconf: fatal: " + err.Error() + "\n"
	}
	return v + "\n", ""
}

// TestComputedDefaultsMatchPostconfD compares the -d values (built-in
// defaults only, main.cf ignored even when it sets the inputs).
func TestComputedDefaultsMatchPostconfD(t *testing.T) {
	t.Parallel()
	runs := []*refRun{
		{mainCf: "", args: []string{"-d", "-h", "myhostname", "mydomain", "mynetworks"}},
		{mainCf: "mydomain = example.com\nmynetworks_style = host\ninet_protocols = ipv4\n",
			args: []string{"-d", "-h", "myhostname", "mydomain", "mynetworks"}},
	}
	runPostconfAll(t, runs)
	// What -d sees: compatibility_level 0, so mynetworks_style is subnet.
	defaults := map[string]string{"mynetworks_style": "subnet", "inet_interfaces": "all", "inet_protocols": "all"}
	host, err := ComputedDefaultFunc("myhostname", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defaults["myhostname"] = host
	get := func(n string) string { return defaults[n] }
	want := host + "\n" + ComputedDefault("mydomain", get) + "\n" + ComputedDefault("mynetworks", get) + "\n"
	for _, r := range runs {
		if r.res.Stdout != want || r.res.Stderr != "" {
			t.Errorf("main.cf %q: postconf -d says %q %q, we say %q", r.mainCf, r.res.Stdout, r.res.Stderr, want)
		}
	}
}

// TestMynetworksMatchesPostconf varies mynetworks_style, inet_protocols
// and inet_interfaces in main.cf and compares with plain postconf.
func TestMynetworksMatchesPostconf(t *testing.T) {
	t.Parallel()
	type tc struct{ style, protocols, interfaces string }
	var cases []tc
	for _, s := range []string{"host", "subnet", "class"} {
		for _, p := range []string{"ipv4", "ipv6", "all", "ipv6, ipv4", ""} {
			cases = append(cases, tc{s, p, "all"})
		}
	}
	local, err := interfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	has6 := false
	for _, a := range local {
		if a.addr.String() == "::1" {
			has6 = true
		}
	}
	for _, i := range []string{"127.0.0.1", "loopback-only", "localhost", "all, 127.0.0.1", "loopback-only, 127.0.0.1",
		"203.0.113.254", "ALL", "no-such-host.invalid"} {
		cases = append(cases, tc{"subnet", "all", i}, tc{"host", "ipv4", i})
	}
	if has6 {
		cases = append(cases, tc{"subnet", "all", "[::1]"}, tc{"host", "all", "127.0.0.1 [::1]"}, tc{"class", "ipv6", "loopback-only"})
	}
	// Every address of this machine named on its own.
	for _, a := range local {
		cases = append(cases, tc{"subnet", "all", a.addr.String()}, tc{"class", "all", a.addr.String()})
	}
	cases = append(cases, tc{"bogus", "all", "all"}, tc{"HOST", "all", "all"}, tc{"host", "IPv4", "all"}, tc{"host", "ipv5, ipv4", "all"})
	runs := make([]*refRun, len(cases))
	for i, c := range cases {
		runs[i] = &refRun{
			mainCf: fmt.Sprintf("mynetworks_style = %s\ninet_protocols = %s\ninet_interfaces = %s\n", c.style, c.protocols, c.interfaces),
			args:   []string{"-h", "mynetworks"},
		}
	}
	runPostconfAll(t, runs)
	for i, c := range cases {
		out, errOut := expect(Mynetworks(c.style, c.interfaces, c.protocols))
		if r := runs[i].res; r.Stdout != out || r.Stderr != errOut {
			t.Errorf("%+v: postconf says %q %q, we say %q %q", c, r.Stdout, r.Stderr, out, errOut)
		}
	}
}

// TestHostnameDefaultsMatchPostconf checks myhostname and mydomain with
// main.cf setting one or the other.
func TestHostnameDefaultsMatchPostconf(t *testing.T) {
	t.Parallel()
	cases := []map[string]string{
		{}, {"mydomain": "ex.com"}, {"myhostname": "a.b.c"}, {"myhostname": "abc"},
		{"myhostname": "abc."}, {"myhostname": ".b"}, {"myhostname": "a.b", "mydomain": "zz"},
	}
	runs := make([]*refRun, len(cases))
	for i, c := range cases {
		var b strings.Builder
		for k, v := range c {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
		runs[i] = &refRun{mainCf: b.String(), args: []string{"-h", "myhostname", "mydomain"}}
	}
	runPostconfAll(t, runs)
	for i, c := range cases {
		explicit := func(n string) (string, bool) { v, ok := c[n]; return v, ok }
		var get func(string) string
		get = func(n string) string {
			if v, ok := c[n]; ok {
				return v
			}
			v, err := ComputedDefaultFunc(n, get, explicit)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		want := get("myhostname") + "\n" + get("mydomain") + "\n"
		if r := runs[i].res; r.Stdout != want || r.Stderr != "" {
			t.Errorf("main.cf %v: postconf says %q %q, we say %q", c, r.Stdout, r.Stderr, want)
		}
	}
}

// TestHostnameUnderOtherNames runs the real postconf -d in a private UTS
// namespace with other host names (root only).
func TestHostnameUnderOtherNames(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postconf")
	if os.Getuid() != 0 {
		t.Skip("needs root for unshare -u")
	}
	if err := exec.Command("unshare", "-u", "true").Run(); err != nil {
		t.Skipf("unshare -u does not work here: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.cf"), "")
	writeFile(t, filepath.Join(dir, "master.cf"), "")
	old := osHostname
	defer func() { osHostname = old }()
	for _, h := range []string{"foo.example.org", "foo", "Foo.BAR", "a.b.c.d.e", "1.2.3.4"} {
		script := fmt.Sprintf("hostname %s && exec %s -c %s -d -h myhostname mydomain", h, ref, dir)
		r := testutil.Run(t, dir, "unshare", "unshare", nil, "-u", "sh", "-c", script)
		// sh cannot set argv[0]; the diagnostics carry the full path.
		r.Stderr = strings.ReplaceAll(r.Stderr, ref+": ", "postconf: ")
		osHostname = func() (string, error) { return h, nil }
		var warn strings.Builder
		restore := captureWarnings(&warn)
		host, err := ComputedDefaultFunc("myhostname", nil, nil)
		restore()
		var wantOut, wantErr string
		if err != nil {
			wantOut, wantErr = expect("", err)
			wantErr = warn.String() + wantErr
		} else {
			dom, _ := ComputedDefaultFunc("mydomain", func(string) string { return host }, nil)
			wantOut = host + "\n" + dom + "\n"
		}
		if r.Stdout != wantOut || r.Stderr != wantErr {
			t.Errorf("hostname %s: postconf says %q %q, we say %q %q", h, r.Stdout, r.Stderr, wantOut, wantErr)
		}
	}
}

func TestProcessDefaults(t *testing.T) {
	if got := ComputedDefault("process_id", nil); got != strconv.Itoa(os.Getpid()) {
		t.Errorf("process_id = %s", got)
	}
	if got := ComputedDefault("process_name", nil); got != filepath.Base(os.Args[0]) {
		t.Errorf("process_name = %s", got)
	}
	if got := ComputedDefault("myorigin", nil); got != "" {
		t.Errorf("non-computed parameter gave %q", got)
	}
	ref := testutil.Reference(t, "/usr/sbin/postconf")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.cf"), "")
	writeFile(t, filepath.Join(dir, "master.cf"), "")
	r := testutil.Run(t, dir, ref, "/some/where/postconf", nil, "-c", dir, "-d", "-h", "process_name")
	if r.Stdout != "postconf\n" {
		t.Errorf("reference process_name is %q; expected the base name of argv[0]", r.Stdout)
	}
}

// captureWarnings sends msg output to w under the name "postconf" until
// the returned function is called.
func captureWarnings(w *strings.Builder) func() {
	oldOut := msg.SetOutput(w)
	oldName := msg.ProgName()
	msg.SetProgName("postconf")
	return func() {
		msg.SetOutput(oldOut)
		msg.SetProgName(oldName)
	}
}
