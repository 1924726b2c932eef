package proxymap

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/server"
	"github.com/postfix-go/postfix/maptypes"
)

// Run is the proxymap daemon's main: a multi-client server on
// private/proxymap or private/proxywrite.
func Run() {
	var srv *Server
	server.Run("proxymap", server.Options{
		Mode: server.Multi,
		PreJail: func(s *server.Service) error {
			if len(s.Args) > 0 {
				maillog.Fatal("unexpected command-line argument: %s", s.Args[0])
			}
			return nil
		},
		PostJail: func(s *server.Service) error {
			var err error
			srv, err = New(s.Name, s.Config, Logger{Warn: maillog.Warn, Info: maillog.Info, Error: maillog.Error})
			if err != nil {
				maillog.Fatal("%v", err)
			}
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			if name := srv.Changed(); name != "" {
				maillog.Info("table %s has changed -- restarting", name)
				os.Exit(0)
			}
			srv.Serve(c)
		},
	})
}

// Logger receives the daemon's log lines.
type Logger struct {
	Warn, Info, Error func(format string, args ...any)
}

// Server holds what one proxymap process serves: the approved tables and
// the tables opened so far.
type Server struct {
	service  string // "proxymap" or "proxywrite"
	writer   bool
	utf8     bool // smtputf8_enable: a request with the UTF-8 flag opens a UTF-8 table
	approved map[string]bool
	log      Logger

	mu      sync.Mutex
	tables  map[instKey]*instance
	order   []*instance      // the tables in the order they were opened
	wmu     sync.Mutex       // one update or deletion at a time
	wfailed map[instKey]bool // proxywrite tables whose open failed and was reported
}

// instKey names one instance: the table and the instance flags of the
// request that opened it (Postfix's DICT_FLAG_INST_MASK bits: in practice
// the null-byte flags). Requests that differ only in what a client may
// change from one request to the next (folding, UTF-8, locking) share
// the instance, as in Postfix.
type instKey struct {
	name string
	inst uint32
}

// instance is one open table; mu serialises its use (sequence keeps a
// cursor, as Postfix's table does) and its flags.
type instance struct {
	mu   sync.Mutex
	name string
	reg  string // the name in "table NAME has changed": TYPE:NAME:INSTANCE-FLAGS
	t    maptypes.Table
	err  error // the open failed: every request is a temporary failure
	// of are the flags the table was opened with (those of the request
	// that opened it); fixed says it is a fixed-string table.
	of    maptypes.OpenFlags
	fixed bool
	// flags are Postfix's dict->flags, which the open reply reports: the
	// table's own bits and the per-request bits of the latest request.
	flags uint32
	seq   [][2]string
	pos   int
}

// use takes the per-request flags of a request (Postfix's server copies
// them into the table before each operation) and returns key folded as
// the request asks. A table opened with folding folds by itself; the
// pattern tables here leave folding to the caller.
func (in *instance) use(flags uint32, key string) string {
	in.flags = in.flags&^maptypes.DictRqstMask | flags&maptypes.DictRqstMask
	if in.fixed && flags&maptypes.DictFoldFix != 0 && in.of&maptypes.FoldFixed == 0 ||
		!in.fixed && flags&maptypes.DictFoldMul != 0 {
		return maptypes.Fold(key, in.of&maptypes.UTF8 != 0)
	}
	return key
}

// unavailable is what Postfix's stand-in for a table that could not be
// opened logs at each operation.
func (s *Server) unavailable(in *instance) {
	s.log.Warn("%s is unavailable. %s", in.name, in.err)
}

// New prepares the server for service (the master.cf service name: the
// read-only service is proxymap_service_name, the read-write one
// proxywrite_service_name) with the tables approved by c.
func New(service string, c *conf.Config, log Logger) (*Server, error) {
	s := &Server{service: service, log: log, tables: map[instKey]*instance{}, approved: map[string]bool{},
		wfailed: map[instKey]bool{}, utf8: c.Bool("smtputf8_enable")}
	readName, writeName := c.Get("proxymap_service_name"), c.Get("proxywrite_service_name")
	param := "proxy_read_maps"
	switch service {
	case writeName:
		s.writer = true
		param = "proxy_write_maps"
	case readName:
	default:
		// Postfix names the read service twice in this message.
		return nil, errors.New("service name must be one of " + readName + " or " + readName)
	}
	for _, spec := range strings.FieldsFunc(c.Get(param), func(r rune) bool {
		return r == ' ' || r == ',' || r == '\t' || r == '\r' || r == '\n'
	}) {
		if !strings.HasPrefix(spec, "proxy:") {
			continue
		}
		spec = stripProxy(spec)
		if strings.Contains(spec, ":") {
			s.approved[spec] = true
		}
	}
	return s, nil
}

func stripProxy(name string) string {
	for strings.HasPrefix(name, "proxy:") {
		name = name[len("proxy:"):]
	}
	return name
}

// Changed returns the name of an open table whose file changed since it
// was opened (read-only service only), or "".
func (s *Server) Changed() string {
	if s.writer {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.order {
		if w, ok := in.t.(maptypes.Watcher); ok && w.Changed() {
			return in.reg
		}
	}
	return ""
}

// Serve answers the requests of one client until it hangs up or sends a
// malformed request.
func (s *Server) Serve(c io.ReadWriter) {
	dec := attr.NewDecoder(c, attr.Zero)
	dec.Path = s.service + " socket"
	enc := attr.NewEncoder(c, attr.Zero)
	if enc.WriteProtocol(maptypes.ProxyProtocol) != nil || enc.Flush() != nil {
		return
	}
	for {
		var req string
		if _, err := dec.Scan(attr.More|attr.Strict, attr.WantStr(maptypes.ProxyAttrRequest, &req)); err != nil {
			s.decodeWarn(err)
			return
		}
		reply, ok := s.request(req, dec)
		if enc.Write(reply...) != nil || enc.Flush() != nil || !ok {
			return
		}
	}
}

// decodeWarn logs a malformed record as Postfix's attribute scanner does;
// a client that hangs up between requests is no error.
func (s *Server) decodeWarn(err error) {
	var ae *attr.Error
	if errors.As(err, &ae) && !errors.Is(err, io.EOF) {
		s.log.Warn("%s", ae.Msg)
	}
}

func status(st uint32) attr.Attr { return attr.Int(maptypes.ProxyAttrStatus, st) }

// request reads the rest of one request and performs it. ok is false when
// the record was malformed: the connection is then closed after the
// reply.
func (s *Server) request(req string, dec *attr.Decoder) (reply []attr.Attr, ok bool) {
	var table, key, value string
	var flags, function uint32
	wTable := attr.WantStr(maptypes.ProxyAttrTable, &table)
	wFlags := attr.WantInt(maptypes.ProxyAttrFlags, &flags)
	wKey := attr.WantStr(maptypes.ProxyAttrKey, &key)
	scan := func(wants ...attr.Want) bool {
		if _, err := dec.Scan(attr.Strict, wants...); err != nil {
			s.decodeWarn(err)
			return false
		}
		return true
	}
	bad := status(maptypes.ProxyStatBad)
	switch req {
	case maptypes.ProxyReqOpen:
		if !scan(wTable, wFlags) {
			return []attr.Attr{bad, attr.Int(maptypes.ProxyAttrFlags, 0)}, false
		}
		in, st := s.find(table, flags, false)
		if in == nil {
			return []attr.Attr{status(st), attr.Int(maptypes.ProxyAttrFlags, 0)}, true
		}
		in.mu.Lock()
		reply := in.flags
		in.mu.Unlock()
		return []attr.Attr{status(maptypes.ProxyStatOK), attr.Int(maptypes.ProxyAttrFlags, reply)}, true
	case maptypes.ProxyReqLookup:
		if !scan(wTable, wFlags, wKey) {
			return []attr.Attr{bad, attr.Str(maptypes.ProxyAttrValue, "")}, false
		}
		st, v := s.lookup(table, flags, key)
		return []attr.Attr{status(st), attr.Str(maptypes.ProxyAttrValue, v)}, true
	case maptypes.ProxyReqUpdate:
		if !scan(wTable, wFlags, wKey, attr.WantStr(maptypes.ProxyAttrValue, &value)) {
			return []attr.Attr{bad}, false
		}
		return []attr.Attr{status(s.update(table, flags, key, value, false))}, true
	case maptypes.ProxyReqDelete:
		if !scan(wTable, wFlags, wKey) {
			return []attr.Attr{bad}, false
		}
		return []attr.Attr{status(s.update(table, flags, key, "", true))}, true
	case maptypes.ProxyReqSequence:
		empty := []attr.Attr{attr.Str(maptypes.ProxyAttrKey, ""), attr.Str(maptypes.ProxyAttrValue, "")}
		if !scan(wTable, wFlags, attr.WantInt(maptypes.ProxyAttrFunction, &function)) {
			return append([]attr.Attr{bad}, empty...), false
		}
		if function != maptypes.ProxySeqFirst && function != maptypes.ProxySeqNext {
			return append([]attr.Attr{bad}, empty...), true
		}
		st, k, v := s.sequence(table, flags, function)
		return []attr.Attr{status(st), attr.Str(maptypes.ProxyAttrKey, k), attr.Str(maptypes.ProxyAttrValue, v)}, true
	}
	s.log.Warn("unrecognized request: \"%s\", ignored", req)
	// The rest of the record belongs to the unknown request.
	if _, err := dec.ReadRecord(); err != nil {
		s.decodeWarn(err)
		return []attr.Attr{bad}, false
	}
	return []attr.Attr{bad}, true
}

// find returns the open instance of table for a request with flags,
// opening it on first use, or nil and the status that refuses it. With
// write (proxywrite updates) the table is opened for writing, not kept:
// the caller closes it, which puts the change on disk, as Postfix's
// synchronous updates do.
func (s *Server) find(table string, flags uint32, write bool) (*instance, uint32) {
	name := stripProxy(table)
	if !strings.Contains(name, ":") {
		return nil, maptypes.ProxyStatBad
	}
	if !s.approved[name] {
		s.log.Warn("request for unapproved table: \"%s\"", name)
		access, param := "read-only", "proxy_read_maps"
		if s.writer {
			access, param = "read-write", "proxy_write_maps"
		}
		s.log.Warn("to approve this table for %s access, list proxy:%s in main.cf:%s", access, name, param)
		return nil, maptypes.ProxyStatDeny
	}
	typ, inner := maptypes.SplitSpec(name, "")
	of := maptypes.ProxyFlags(flags)
	if !s.utf8 {
		// Postfix adds its UTF-8 layer only with smtputf8_enable.
		of &^= maptypes.UTF8
	}
	k := instKey{name, flags &^ (maptypes.DictImplMask | maptypes.DictRqstMask)}
	if write {
		in := s.newInstance(name, typ, flags, of)
		in.t, in.err = maptypes.Open(name, of|maptypes.Write|maptypes.DupReplace)
		if in.err != nil {
			// proxywrite creates a missing table (Postfix opens it
			// with O_CREAT).
			if b, err := maptypes.Create(typ, inner, of); err == nil && b.Commit() == nil {
				in.t, in.err = maptypes.Open(name, of|maptypes.Write|maptypes.DupReplace)
			}
		}
		if in.err != nil {
			s.failed(in, flags)
			s.mu.Lock()
			if !s.wfailed[k] {
				s.wfailed[k] = true
				s.log.Error("%s", in.err)
			}
			s.mu.Unlock()
		}
		return in, maptypes.ProxyStatOK
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.tables[k]; in != nil {
		if w, ok := in.t.(maptypes.Watcher); !s.writer || !ok || !w.Changed() {
			return in, maptypes.ProxyStatOK
		}
		// proxywrite changed this table itself: read it anew.
		in.t.Close()
	}
	in := s.newInstance(name, typ, flags, of)
	in.reg = name + ":" + instFlagNames(flags)
	in.t, in.err = maptypes.Open(name, of)
	if in.err != nil {
		// As Postfix's stand-in table: say why when the instance is
		// made; each operation then says that the table is
		// unavailable and fails temporarily.
		s.failed(in, flags)
		s.log.Error("%s", in.err)
	}
	if old := s.tables[k]; old != nil {
		for i := range s.order {
			if s.order[i] == old {
				s.order[i] = in
			}
		}
	} else {
		s.order = append(s.order, in)
	}
	s.tables[k] = in
	return in, maptypes.ProxyStatOK
}

// newInstance prepares the instance of a table of type typ opened by a
// request with flags.
func (s *Server) newInstance(name, typ string, flags uint32, of maptypes.OpenFlags) *instance {
	reply := openReply(typ, flags)
	in := &instance{name: name, of: of, fixed: reply&maptypes.DictFixed != 0,
		flags: reply | flags&^maptypes.DictImplMask}
	if of&maptypes.UTF8 != 0 {
		in.flags |= maptypes.DictUTF8Active
	}
	return in
}

// failed makes in the stand-in for a table that a request with flags
// could not open: a pattern table with the request's flags, as Postfix's.
func (s *Server) failed(in *instance, flags uint32) {
	in.fixed = false
	in.flags = flags&^maptypes.DictImplMask | maptypes.DictPattern
}

// instFlagNames spells the instance flags of a request as Postfix names
// them in the table's registered name ("try0null|try1null").
func instFlagNames(flags uint32) string {
	var names []string
	if flags&maptypes.DictTry0Null != 0 {
		names = append(names, "try0null")
	}
	if flags&maptypes.DictTry1Null != 0 {
		names = append(names, "try1null")
	}
	return strings.Join(names, "|")
}

// openReply is the "flags" of an open reply: what kind of table this is,
// and for the file databases which null-byte forms are tried.
func openReply(typ string, flags uint32) uint32 {
	if !maptypes.IsFixed(typ) && typ != "static" {
		return maptypes.DictPattern
	}
	r := uint32(maptypes.DictFixed)
	switch typ {
	case "hash", "btree", "lmdb", "cdb":
		nul := flags & (maptypes.DictTry0Null | maptypes.DictTry1Null)
		if nul == 0 {
			nul = maptypes.DictTry0Null | maptypes.DictTry1Null
		}
		r |= nul
	}
	return r
}

func (s *Server) lookup(table string, flags uint32, key string) (uint32, string) {
	in, st := s.find(table, flags, false)
	if in == nil {
		return st, ""
	}
	in.mu.Lock()
	key = in.use(flags, key)
	if in.err != nil {
		in.mu.Unlock()
		s.unavailable(in)
		return maptypes.ProxyStatRetry, ""
	}
	v, found, err := in.t.Lookup(key)
	in.mu.Unlock()
	switch {
	case err != nil:
		return maptypes.ProxyStatRetry, ""
	case !found:
		return maptypes.ProxyStatNoKey, ""
	}
	return maptypes.ProxyStatOK, v
}

// update stores key=value, or deletes key, in a proxywrite table.
func (s *Server) update(table string, flags uint32, key, value string, del bool) uint32 {
	if !s.writer {
		what := "update"
		if del {
			what = "delete"
		}
		s.log.Warn("refusing %s %s request on non-proxywrite service", table, what)
		return maptypes.ProxyStatDeny
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	in, st := s.find(table, flags, true)
	if in == nil {
		return st
	}
	key = in.use(flags, key)
	if in.err != nil {
		s.unavailable(in)
		return maptypes.ProxyStatRetry
	}
	st = change(in.t, key, value, del)
	if err := in.t.Close(); err != nil && st == maptypes.ProxyStatOK {
		s.log.Warn("%s: %v", in.name, err)
		return maptypes.ProxyStatRetry
	}
	return st
}

// change performs one update or deletion.
func change(t maptypes.Table, key, value string, del bool) uint32 {
	if del {
		d, ok := t.(maptypes.Deleter)
		if !ok {
			return maptypes.ProxyStatRetry
		}
		found, err := d.Delete(key)
		switch {
		case err != nil:
			return maptypes.ProxyStatRetry
		case !found:
			return maptypes.ProxyStatNoKey
		}
		return maptypes.ProxyStatOK
	}
	u, ok := t.(maptypes.Updater)
	if !ok {
		return maptypes.ProxyStatRetry
	}
	if _, err := u.Update(key, value); err != nil {
		return maptypes.ProxyStatRetry
	}
	return maptypes.ProxyStatOK
}

// sequence returns the first or next entry of a table. The entries are
// read on "first"; "next" walks that list, one cursor per table instance
// as in Postfix.
func (s *Server) sequence(table string, flags, function uint32) (uint32, string, string) {
	in, st := s.find(table, flags, false)
	if in == nil {
		return st, "", ""
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.use(flags, "")
	if in.err != nil {
		s.unavailable(in)
		return maptypes.ProxyStatRetry, "", ""
	}
	if function == maptypes.ProxySeqFirst {
		sq, ok := in.t.(maptypes.Sequencer)
		if !ok {
			s.log.Warn("table %s: sequence operation is not supported", in.name)
			return maptypes.ProxyStatRetry, "", ""
		}
		in.seq, in.pos = nil, 0
		if err := sq.Sequence(func(k, v string) bool {
			in.seq = append(in.seq, [2]string{k, v})
			return true
		}); err != nil {
			in.seq = nil
			return maptypes.ProxyStatRetry, "", ""
		}
	}
	if in.pos >= len(in.seq) {
		return maptypes.ProxyStatNoKey, "", ""
	}
	e := in.seq[in.pos]
	in.pos++
	return maptypes.ProxyStatOK, e[0], e[1]
}
