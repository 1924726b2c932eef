package deliver

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/queue"
)

func TestProbeTmp(t *testing.T) {
	for _, agent := range []string{"retry"} {
		d := startRefDaemon(t, agent)
		l := queue.Layout{Dir: d.queueDir, Hashed: []string{"deferred", "defer"}, Depth: 1}
		if err := l.MakeDirs(); err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Join(d.queueDir, "private"), 0o755)
		ln, err := net.Listen("unix", filepath.Join(d.queueDir, "private", "trace"))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				enc := attr.NewEncoder(c, attr.Zero)
				enc.WriteProtocol(bouncelog.Protocol)
				enc.Flush()
				r, err := bouncelog.ReadRequest(attr.NewDecoder(c, attr.Zero))
				t.Logf("trace request %+v %v", r, err)
				enc.Write(attr.Int("status", 0))
				enc.Flush()
				c.Close()
			}
		}()
		id, offs, size := writeQueueFile(t, l, queue.Active, queue.Recipient{Address: "one@example.com"})
		chownTree(t, d.queueDir)
		nc, err := net.Dial("unix", d.sock)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewConn(nc, "private/"+agent, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		req := testRequest(id, offs, size, "one@example.com")
		if os.Getenv("PROBE") != "" {
			req.Flags |= FlagUserVerify
		}
		req.Nexthop = "4.1.1 try later"
		st, err := c.Deliver(req)
		c.Close()
		time.Sleep(200 * time.Millisecond)
		t.Logf("%s: status %d err %v records %q logs %q", agent, st, err, recordTypes(t, l.Path(queue.Active, id), offs), d.logs)
	}
}
