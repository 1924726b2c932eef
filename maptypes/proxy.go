package maptypes

// The proxy: table type: lookups through proxymap(8).
//
// A table named "proxy:TYPE:NAME" is read by proxymap(8) on behalf of the
// process that opened it, over the attribute protocol (zero format) on
// the unix socket private/proxymap, or private/proxywrite when it was
// opened for writing. The server announces "proxymap_protocol" first;
// each request is a record of "request" (open, lookup, update, delete,
// sequence), "table" (TYPE:NAME), "flags" (Postfix's DICT_FLAG_* bits)
// and, depending on the request, "key", "value" and "function"; each
// reply starts with "status" (ProxyStat*). The constants below are the
// one place in the project that spells this protocol; the proxymap
// package serves it.
//
// Where the socket is: inside a daemon (whose working directory is
// queue_directory, see internal/ipc) the relative private/NAME, as
// Postfix's daemons use it, also inside a chroot jail; in a command,
// $queue_directory/private/NAME from MainConfig.
//
// When no proxymap can be reached. Postfix's client keeps trying (a
// command gives up after ten connection attempts ten seconds apart, a
// daemon waits forever). Here a missing socket means that this system
// runs no proxymap service, and the table is opened in this process, as
// before proxymap existed: stand-alone commands and systems without the
// service keep working. A command that finds the socket but cannot
// connect (a socket left behind by a stopped system) also opens the
// table itself. A daemon that finds the socket but cannot connect keeps
// trying, once a second, with Postfix's warning, and after ProxyTries
// attempts returns a temporary error (ErrRetry): inside a chroot jail an
// in-process table (unix:passwd.byname) would silently give wrong
// answers.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
)

// The proxymap protocol: its name, requests, attributes and reply status
// codes, as Postfix 3.7 defines them.
const (
	ProxyProtocol = "proxymap_protocol"

	ProxyReqOpen     = "open"
	ProxyReqLookup   = "lookup"
	ProxyReqUpdate   = "update"
	ProxyReqDelete   = "delete"
	ProxyReqSequence = "sequence"

	ProxyAttrRequest  = "request"
	ProxyAttrTable    = "table"
	ProxyAttrFlags    = "flags"
	ProxyAttrKey      = "key"
	ProxyAttrValue    = "value"
	ProxyAttrFunction = "function"
	ProxyAttrStatus   = "status"

	ProxyStatOK     = 0 // the operation succeeded
	ProxyStatNoKey  = 1 // no such key (or no more entries)
	ProxyStatRetry  = 2 // temporary failure: try again later
	ProxyStatBad    = 3 // malformed request
	ProxyStatDeny   = 4 // the table is not approved for this service
	ProxyStatConfig = 5 // the table is misconfigured

	// Sequence functions of the "function" attribute.
	ProxySeqFirst = 0
	ProxySeqNext  = 1

	// The default service names (proxymap_service_name,
	// proxywrite_service_name).
	ProxyReadService  = "proxymap"
	ProxyWriteService = "proxywrite"
)

// Postfix's DICT_FLAG_* bits as they travel in the "flags" attribute.
const (
	DictDupWarn     = 1 << 0
	DictDupIgnore   = 1 << 1
	DictTry0Null    = 1 << 2
	DictTry1Null    = 1 << 3
	DictFixed       = 1 << 4
	DictPattern     = 1 << 5
	DictLock        = 1 << 6
	DictDupReplace  = 1 << 7
	DictSyncUpdate  = 1 << 8
	DictNoRegsub    = 1 << 11
	DictNoProxy     = 1 << 12
	DictNoUnauth    = 1 << 13
	DictFoldFix     = 1 << 14
	DictFoldMul     = 1 << 15
	DictMultiWriter = 1 << 18
	DictUTF8Request = 1 << 19
	DictUTF8Active  = 1 << 20 // the table has Postfix's UTF-8 layer

	// DictImplMask: what the table type says of itself (the open reply).
	DictImplMask = DictFixed | DictPattern | DictMultiWriter
	// DictRqstMask: what may change from one request to the next.
	DictRqstMask = DictFoldFix | DictFoldMul | DictLock | DictDupReplace | DictDupWarn |
		DictDupIgnore | DictSyncUpdate | DictNoRegsub | DictNoProxy | DictNoUnauth | DictUTF8Request
	// DictInstMask: what selects a separate instance of a table.
	DictInstMask = ^(DictImplMask | DictRqstMask)
)

// ProxyFlags converts the DICT_FLAG_* bits of a request into the flags
// a table is opened with.
func ProxyFlags(dict uint32) OpenFlags {
	var f OpenFlags
	for _, m := range []struct {
		d uint32
		o OpenFlags
	}{{DictFoldFix, FoldFixed}, {DictFoldMul, FoldPattern}, {DictTry0Null, TryNull0},
		{DictTry1Null, TryNull1}, {DictUTF8Request, UTF8}} {
		if dict&m.d != 0 {
			f |= m.o
		}
	}
	return f
}

// dictInstFlags converts open flags into the instance flags (those that
// select a table instance) a client sends.
func dictInstFlags(f OpenFlags) uint32 {
	var d uint32
	if f&TryNull0 != 0 {
		d |= DictTry0Null
	}
	if f&TryNull1 != 0 {
		d |= DictTry1Null
	}
	return d
}

// ProxyTries bounds the attempts of a daemon to reach a proxymap whose
// socket exists but does not answer (Postfix waits forever).
var ProxyTries = 60

// proxyPause is the wait between attempts, a second as in Postfix.
var proxyPause = time.Second

// proxyTimeout bounds one request and its reply.
const proxyTimeout = 100 * time.Second

// ProxyDeniedError is the answer of a proxymap that does not serve a
// table (not in proxy_read_maps or proxy_write_maps); Postfix's client
// exits with this text as a fatal error.
type ProxyDeniedError struct{ Text string }

func (e *ProxyDeniedError) Error() string { return e.Text }

// proxySocket returns the path of the socket of service and whether the
// caller is a daemon.
func proxySocket(service string) (string, bool) {
	if ipc.InQueueDir() {
		return "private/" + service, true
	}
	return filepath.Join(mainConfig().Get("queue_directory"), "private", service), false
}

// openProxy opens "proxy:NAME" (NAME is TYPE:NAME without further
// "proxy:"): through proxymap when its socket exists, else in this
// process.
func openProxy(name string, flags OpenFlags) (Table, error) {
	service := ProxyReadService
	if flags&Write != 0 {
		service = ProxyWriteService
	}
	path, daemon := proxySocket(service)
	if _, err := os.Stat(path); err != nil {
		return Open(name, flags)
	}
	p := &proxyTable{pool: proxyPoolFor(path), service: service, name: name, flags: flags,
		inst: dictInstFlags(flags), daemon: daemon}
	var status, server uint32
	for try := 1; ; try++ {
		err := p.pool.call([]attr.Attr{attr.Str(ProxyAttrRequest, ProxyReqOpen), attr.Str(ProxyAttrTable, name),
			attr.Int(ProxyAttrFlags, p.inst)},
			attr.WantInt(ProxyAttrStatus, &status), attr.WantInt(ProxyAttrFlags, &server))
		if err == nil {
			break
		}
		if !daemon {
			// No proxymap answers this command: read the table here.
			return Open(name, flags)
		}
		Warn(fmt.Sprintf("%s: service dict_proxy_open: %s", path, proxyErrText(err)))
		if try >= ProxyTries {
			return nil, retryf(fmt.Sprintf("%s service is not available", service))
		}
		time.Sleep(proxyPause)
	}
	switch status {
	case ProxyStatOK:
		p.fixed = server&DictFixed != 0
		p.pattern = server&DictPattern != 0
		return p, nil
	case ProxyStatBad:
		return nil, fmt.Errorf("%s open failed for table \"%s\": invalid request", service, name)
	case ProxyStatDeny:
		return nil, &ProxyDeniedError{fmt.Sprintf("%s service is not configured for table \"%s\"", service, name)}
	}
	return nil, fmt.Errorf("%s open failed for table \"%s\": unexpected status %d", service, name, status)
}

// proxyErrText is the %m of Postfix's warning for a failed exchange.
func proxyErrText(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "Success"
	}
	return ipc.ErrnoText(err)
}

// proxyTable is a table served by proxymap.
type proxyTable struct {
	pool           *proxyPool
	service, name  string
	flags          OpenFlags
	inst           uint32
	fixed, pattern bool
	daemon         bool
}

// rqstFlags are the flags of a lookup, update, deletion or sequence
// request: the instance flags plus the caller's per-request flags, as
// Postfix's daemons and commands send them (captured from Debian's
// cleanup, trivial-rewrite and postmap): a lock, UTF-8 requested (also
// with smtputf8_enable = no), and for the commands the duplicate warning.
// With UTF-8 on, Postfix's UTF-8 layer folds the key here and sends no
// folding bits; otherwise the server folds as the bits say.
func (p *proxyTable) rqstFlags() uint32 {
	f := p.inst | DictLock | DictUTF8Request
	if !p.daemon {
		f |= DictDupWarn
	}
	if p.flags&UTF8 != 0 {
		return f
	}
	if p.flags&FoldFixed != 0 {
		f |= DictFoldFix
	}
	if p.flags&FoldPattern != 0 {
		f |= DictFoldMul
	}
	return f
}

// key folds key as Postfix's UTF-8 layer does before sending it.
func (p *proxyTable) key(key string) string {
	if p.flags&UTF8 == 0 {
		return key
	}
	if p.fixed && p.flags&FoldFixed != 0 || p.pattern && p.flags&FoldPattern != 0 {
		return Fold(key, true)
	}
	return key
}

// exchange sends req until a reply arrives, as Postfix's client retries
// a broken connection; the first failure is retried at once on a new
// connection, later ones after a pause with a warning.
func (p *proxyTable) exchange(op string, req []attr.Attr, wants ...attr.Want) error {
	for try := 1; ; try++ {
		err := p.pool.call(req, wants...)
		if err == nil {
			return nil
		}
		if try == 1 {
			continue
		}
		Warn(fmt.Sprintf("dict_proxy_%s: service %s: %s", op, p.pool.path, proxyErrText(err)))
		if try >= ProxyTries || !p.daemon && try >= 3 {
			return retryf(fmt.Sprintf("%s service is not available", p.service))
		}
		time.Sleep(proxyPause)
	}
}

// Lookup implements Table.
func (p *proxyTable) Lookup(key string) (string, bool, error) {
	var status uint32
	var value string
	err := p.exchange("lookup", []attr.Attr{attr.Str(ProxyAttrRequest, ProxyReqLookup), attr.Str(ProxyAttrTable, p.name),
		attr.Int(ProxyAttrFlags, p.rqstFlags()), attr.Str(ProxyAttrKey, p.key(key))},
		attr.WantInt(ProxyAttrStatus, &status), attr.WantStr(ProxyAttrValue, &value))
	if err != nil {
		return "", false, err
	}
	switch status {
	case ProxyStatOK:
		return value, true, nil
	case ProxyStatNoKey:
		return "", false, nil
	}
	return "", false, p.statusErr("lookup", key, status)
}

// statusErr turns a failure status into an error worded as Postfix's
// client reports it.
func (p *proxyTable) statusErr(op, key string, status uint32) error {
	switch status {
	case ProxyStatRetry:
		return retryf("Application error")
	case ProxyStatConfig:
		return fmt.Errorf("%s:%s: table configuration error", "proxy", p.name)
	case ProxyStatBad:
		return fmt.Errorf("%s %s failed for table \"%s\" key \"%s\": invalid request", p.service, op, p.name, key)
	case ProxyStatDeny:
		if op == "lookup" {
			return &ProxyDeniedError{fmt.Sprintf("%s service is not configured for table \"%s\"", p.service, p.name)}
		}
		return &ProxyDeniedError{fmt.Sprintf("%s update access is not configured for table \"%s\"", p.service, p.name)}
	}
	return fmt.Errorf("%s %s failed for table \"%s\" key \"%s\": unexpected reply status %d", p.service, op, p.name, key, status)
}

// Update implements Updater (through proxywrite). dup is always false:
// proxymap replaces an existing entry.
func (p *proxyTable) Update(key, value string) (bool, error) {
	var status uint32
	err := p.exchange("update", []attr.Attr{attr.Str(ProxyAttrRequest, ProxyReqUpdate), attr.Str(ProxyAttrTable, p.name),
		attr.Int(ProxyAttrFlags, p.rqstFlags()), attr.Str(ProxyAttrKey, p.key(key)), attr.Str(ProxyAttrValue, value)},
		attr.WantInt(ProxyAttrStatus, &status))
	if err != nil {
		return false, err
	}
	if status == ProxyStatOK {
		return false, nil
	}
	return false, p.statusErr("update", key, status)
}

// Delete implements Deleter (through proxywrite).
func (p *proxyTable) Delete(key string) (bool, error) {
	var status uint32
	err := p.exchange("delete", []attr.Attr{attr.Str(ProxyAttrRequest, ProxyReqDelete), attr.Str(ProxyAttrTable, p.name),
		attr.Int(ProxyAttrFlags, p.rqstFlags()), attr.Str(ProxyAttrKey, p.key(key))},
		attr.WantInt(ProxyAttrStatus, &status))
	if err != nil {
		return false, err
	}
	switch status {
	case ProxyStatOK:
		return true, nil
	case ProxyStatNoKey:
		return false, nil
	}
	return false, p.statusErr("delete", key, status)
}

// Close implements Table; the connections stay with the process, as
// Postfix's client keeps one stream per service.
func (p *proxyTable) Close() error { return nil }

// proxyPool holds the idle connections to one proxymap socket.
type proxyPool struct {
	path string
	mu   sync.Mutex
	idle []*proxyConn
}

// proxyConn is one connection to proxymap.
type proxyConn struct {
	conn net.Conn
	*attr.Client
	idle *time.Timer // closes the connection when it stays unused
}

// proxyIdle is how long an unused connection stays open (Postfix's
// ipc_idle), so that proxymap can exit after its own max_idle.
var proxyIdle = 5 * time.Second

var (
	poolsMu sync.Mutex
	pools   = map[string]*proxyPool{}
)

func proxyPoolFor(path string) *proxyPool {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	p := pools[path]
	if p == nil {
		p = &proxyPool{path: path}
		pools[path] = p
	}
	return p
}

// call performs one request on an idle connection, or a new one when
// none is idle or the idle one was closed by the server (proxymap exits
// after max_idle or when a table changed).
func (p *proxyPool) call(req []attr.Attr, wants ...attr.Want) error {
	c, err := p.get()
	if err != nil {
		return err
	}
	if err := c.Call(req, wants...); err != nil {
		c.Close()
		return err
	}
	p.mu.Lock()
	p.idle = append(p.idle, c)
	c.idle = time.AfterFunc(proxyIdle, func() { p.expire(c) })
	p.mu.Unlock()
	return nil
}

// expire closes c if it is still unused.
func (p *proxyPool) expire(c *proxyConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			c.Close()
			return
		}
	}
}

func (p *proxyPool) get() (*proxyConn, error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		c.idle.Stop()
		p.mu.Unlock()
		if !ipc.PeerDone(c.conn) {
			return c, nil
		}
		c.Close()
		p.mu.Lock()
	}
	p.mu.Unlock()
	conn, err := net.DialTimeout("unix", p.path, proxyTimeout)
	if err != nil {
		return nil, err
	}
	c, err := attr.NewClient(conn, attr.Zero, p.path, ProxyProtocol, proxyTimeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &proxyConn{conn: conn, Client: c}, nil
}
