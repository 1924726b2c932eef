package smtpd

import (
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/record"
)

// postdropStream hands a message to "postdrop -r" instead of cleanup:
// what smtpd does stand-alone (-S, for "sendmail -bs"), as Postfix's does,
// so that the message enters through the maildrop queue and pickup. The
// protocol is cleanup's without the flags record: postdrop announces
// protocol and queue_id, reads the records and answers status and reason.
type postdropStream struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	w    *record.Writer
	dec  *attr.Decoder
	id   string
	done bool
}

// openPostdrop starts $command_directory/postdrop -r.
func openPostdrop(c *conf.Config) (cleanupStream, error) {
	cmd := exec.Command(filepath.Join(c.Get("command_directory"), "postdrop"), "-r")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &postdropStream{cmd: cmd, in: in, w: record.NewWriter(in),
		dec: attr.NewDecoder(out, attr.Zero)}
	p.dec.Path = "postdrop"
	var proto string
	if _, err := p.dec.Scan(attr.Strict, attr.WantStr(attr.ProtocolAttr, &proto), attr.WantStr("queue_id", &p.id)); err != nil {
		p.Abort()
		return nil, err
	}
	if proto != "postdrop_protocol" {
		p.Abort()
		return nil, fmt.Errorf("unexpected protocol %s from postdrop", proto)
	}
	return p, nil
}

func (p *postdropStream) QueueID() string                         { return p.id }
func (p *postdropStream) Put(t record.Type, data []byte) error    { return p.w.Put(t, data) }
func (p *postdropStream) PutAttr(name, value string) error        { return p.w.PutAttr(name, value) }
func (p *postdropStream) PutString(t record.Type, s string) error { return p.w.PutString(t, s) }

// Close flushes the records, reads postdrop's status and reaps it.
func (p *postdropStream) Close() (int, string, error) {
	if p.done {
		return 0, "", fmt.Errorf("postdrop stream already closed")
	}
	p.done = true
	if err := p.w.Flush(); err != nil {
		p.in.Close()
		p.cmd.Wait()
		return 0, "", err
	}
	var st uint32
	var reason string
	_, err := p.dec.Scan(attr.Strict, attr.WantInt("status", &st), attr.WantStr("reason", &reason))
	p.in.Close()
	werr := p.cmd.Wait()
	if err != nil {
		return 0, "", err
	}
	if werr != nil && st == 0 {
		return 0, "", werr
	}
	return int(st), reason, nil
}

// Abort ends postdrop before the end record: it removes its file.
func (p *postdropStream) Abort() {
	if p.done {
		return
	}
	p.done = true
	p.in.Close()
	p.cmd.Wait()
}
