package maptypes

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve runs handler for each connection on a loopback listener.
func serve(t *testing.T, handler func(net.Conn)) string {
	t.Helper()
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
			go handler(c)
		}
	}()
	return ln.Addr().String()
}

func TestTCPTable(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		defer c.Close()
		rd := bufio.NewReader(c)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			key := tcpDecode(strings.TrimSuffix(strings.TrimPrefix(line, "get "), "\n"))
			switch key {
			case "a b%":
				fmt.Fprintf(c, "200 %s\n", tcpEncode("value with space"))
			case "busy":
				fmt.Fprintf(c, "400 try later\n")
			default:
				fmt.Fprintf(c, "500 no\n")
			}
		}
	})
	tb, err := Open("tcp:"+addr, Default)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if v, ok, err := tb.Lookup("A B%"); !ok || err != nil || v != "value with space" {
		t.Errorf("found lookup: %q %v %v", v, ok, err)
	}
	if _, ok, err := tb.Lookup("none"); ok || err != nil {
		t.Errorf("missing key: %v %v", ok, err)
	}
	if _, _, err := tb.Lookup("busy"); !errors.Is(err, ErrRetry) || err.Error() != "try later" {
		t.Errorf("400 reply: %v", err)
	}
}

func TestSocketmapTable(t *testing.T) {
	addr := serve(t, func(c net.Conn) {
		defer c.Close()
		rd := bufio.NewReader(c)
		for {
			req, err := readNetstring(rd)
			if err != nil {
				return
			}
			var reply string
			switch req {
			case "users alice":
				reply = "OK alice@example.com"
			case "users temp":
				reply = "TEMP down"
			default:
				reply = "NOTFOUND "
			}
			fmt.Fprintf(c, "%d:%s,", len(reply), reply)
		}
	})
	tb, err := Open("socketmap:inet:"+addr+":users", Default)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	if v, ok, err := tb.Lookup("ALICE"); !ok || err != nil || v != "alice@example.com" {
		t.Errorf("found lookup: %q %v %v", v, ok, err)
	}
	if _, ok, err := tb.Lookup("bob"); ok || err != nil {
		t.Errorf("missing key: %v %v", ok, err)
	}
	if _, _, err := tb.Lookup("temp"); !errors.Is(err, ErrRetry) {
		t.Errorf("TEMP reply: %v", err)
	}
	if _, err := Open("socketmap:x", Default); err == nil {
		t.Error("bad socketmap name accepted")
	}
}

// TestChangedAfterRebuild checks that an open table notices an atomic
// rebuild (and -i updates) of its file, for hash and cdb.
func TestChangedAfterRebuild(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"hash", "cdb"} {
		name := filepath.Join(dir, "t-"+typ)
		build := func(v string) {
			b, err := Create(typ, name, Default)
			if err != nil {
				t.Fatal(err)
			}
			b.Add("Key", v)
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		build("one")
		tb, err := OpenType(typ, name, Default)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := tb.Lookup("KEY"); !ok || v != "one" {
			t.Errorf("%s: lookup %q %v", typ, v, ok)
		}
		if tb.(Watcher).Changed() {
			t.Errorf("%s: changed before rebuild", typ)
		}
		build("two")
		if !tb.(Watcher).Changed() {
			t.Errorf("%s: rebuild not noticed", typ)
		}
		// The old file stays readable until the table is reopened.
		if v, _, _ := tb.Lookup("key"); v != "one" {
			t.Errorf("%s: open table sees %q", typ, v)
		}
		tb.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "t-hash.db")); err != nil {
		t.Fatal(err)
	}
}

func TestBerkeleyFileReported(t *testing.T) {
	dir := t.TempDir()
	head := make([]byte, 4096)
	head[12], head[13], head[14] = 0x61, 0x15, 0x06 // hash magic, little-endian
	name := filepath.Join(dir, "old")
	os.WriteFile(name+".db", head, 0o644)
	_, err := OpenType("hash", name, Default)
	if err == nil || !strings.Contains(err.Error(), "postmap hash:"+name) {
		t.Errorf("Berkeley DB file: %v", err)
	}
}
