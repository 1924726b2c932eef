package ipc

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
)

func testConfig(t *testing.T) (*conf.Config, string) {
	t.Helper()
	dir := t.TempDir()
	q := filepath.Join(dir, "queue")
	for _, d := range []string{"public", "private"} {
		if err := os.MkdirAll(filepath.Join(q, d), 0755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = "+q+"\n"), 0644)
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c, q
}

func TestTriggerUnixSocket(t *testing.T) {
	c, q := testConfig(t)
	if got := Path(c, "public", "qmgr"); got != q+"/public/qmgr" {
		t.Fatalf("Path = %q", got)
	}
	ln, err := net.Listen("unix", q+"/public/qmgr")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(conn)
		conn.Close()
		got <- string(b)
	}()
	if err := Trigger(c, "public", "qmgr", FlushDeferred); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "FADI" {
		t.Errorf("server read %q", s)
	}
	conn, err := Dial(c, "public", "qmgr", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

func TestTriggerFifo(t *testing.T) {
	c, q := testConfig(t)
	p := q + "/public/pickup"
	if err := syscall.Mkfifo(p, 0622); err != nil {
		t.Fatal(err)
	}
	// Nobody reads: a fifo trigger fails at once (ENXIO), never blocks.
	err := Trigger(c, "public", "pickup", []byte("W"))
	if !errors.Is(err, syscall.ENXIO) {
		t.Fatalf("trigger without reader: %v", err)
	}
	r, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Trigger(c, "public", "pickup", []byte("W")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	n, _ := r.Read(buf)
	if string(buf[:n]) != "W" {
		t.Errorf("read %q", buf[:n])
	}
}

func TestMissingServiceMessage(t *testing.T) {
	c, _ := testConfig(t)
	err := Trigger(c, "public", "nosuch", []byte("W"))
	if err == nil || !strings.HasSuffix(err.Error(), "/public/nosuch: No such file or directory") {
		t.Errorf("error %v", err)
	}
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("not ENOENT: %v", err)
	}
	_, err = Dial(c, "private", "rewrite", time.Second)
	if err == nil || ErrnoText(err) != "No such file or directory" {
		t.Errorf("dial error %v", err)
	}
}
