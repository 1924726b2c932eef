package proxymap

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/maptypes"
)

// TestClientFlags: the "flags" our client sends are those Debian's
// programs send (captured from Postfix 3.7's cleanup, trivial-rewrite
// and postmap with proxymap -v): the open request carries the instance
// flags only; a daemon's lookup carries lock and utf8_request, plus
// fold_fix when the UTF-8 layer is off (smtputf8_enable = no; with it on
// the key is folded by the client); a command's lookup adds warn_dup.
// It runs in a child process because a daemon's state is process-wide.
func TestClientFlags(t *testing.T) {
	if os.Getenv("PROXYMAP_FLAGS_CHILD") != "" {
		flagsChild()
		return
	}
	q := t.TempDir()
	if err := os.MkdirAll(filepath.Join(q, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestClientFlags$")
	cmd.Dir = q
	cmd.Env = append(os.Environ(), "PROXYMAP_FLAGS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := `command utf8:
 open table=hash:/t flags=0
 lookup table=hash:/t flags=524353 key=big
daemon utf8:
 open table=hash:/t flags=0
 lookup table=hash:/t flags=524352 key=big
daemon no-utf8:
 open table=hash:/t flags=0
 lookup table=hash:/t flags=540736 key=BIG
daemon utf8 try1null:
 open table=hash:/t flags=8
 lookup table=hash:/t flags=524360 key=big
`
	if got := string(out); !strings.HasPrefix(got, want) {
		t.Errorf("requests:\n%s\nwant (as Postfix's programs send them):\n%s", got, want)
	}
}

// flagsChild serves a capturing proxymap on private/proxymap and opens
// and looks up a table through it as a daemon and as a command.
func flagsChild() {
	ln, err := net.Listen("unix", "private/proxymap")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	reqs := make(chan string, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go captureProxy(c, reqs)
		}
	}()
	wd, _ := os.Getwd()
	try := func(name string, flags maptypes.OpenFlags) {
		fmt.Println(name + ":")
		tb, err := maptypes.Open("proxy:hash:/t", flags)
		if err != nil {
			fmt.Println(" open:", err)
			return
		}
		if _, _, err := tb.Lookup("BIG"); err != nil {
			fmt.Println(" lookup:", err)
		}
		tb.Close()
		for i := 0; i < 2; i++ {
			fmt.Println(" " + <-reqs)
		}
	}
	// A command finds the socket under queue_directory.
	c := conf.New(os.TempDir(), nil)
	c.Set("queue_directory", wd)
	maptypes.MainConfig = func() *conf.Config { return c }
	try("command utf8", maptypes.Default)
	ipc.SetInQueueDir()
	try("daemon utf8", maptypes.Default)
	try("daemon no-utf8", maptypes.FoldFixed)
	try("daemon utf8 try1null", maptypes.Default|maptypes.TryNull1)
}

// captureProxy answers one client as a proxymap whose table is a fixed
// one without entries, and reports each request.
func captureProxy(c net.Conn, reqs chan<- string) {
	defer c.Close()
	enc := attr.NewEncoder(c, attr.Zero)
	dec := attr.NewDecoder(c, attr.Zero)
	if enc.WriteProtocol(maptypes.ProxyProtocol) != nil || enc.Flush() != nil {
		return
	}
	for {
		rec, err := dec.ReadRecord()
		if err != nil || len(rec) == 0 {
			return
		}
		var b strings.Builder
		for i, p := range rec {
			if i == 0 {
				b.WriteString(p.Value)
				continue
			}
			fmt.Fprintf(&b, " %s=%s", p.Name, p.Value)
		}
		reqs <- b.String()
		if rec[0].Value == maptypes.ProxyReqOpen {
			enc.Write(attr.Int(maptypes.ProxyAttrStatus, maptypes.ProxyStatOK), attr.Int(maptypes.ProxyAttrFlags, maptypes.DictFixed))
		} else {
			enc.Write(attr.Int(maptypes.ProxyAttrStatus, maptypes.ProxyStatNoKey), attr.Str(maptypes.ProxyAttrValue, ""))
		}
		if enc.Flush() != nil {
			return
		}
	}
}
