package qmgr

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

// message is what the queue manager knows about one file in the active
// queue.
type message struct {
	id        string
	size      queue.Size
	arrival   time.Time // T record
	created   time.Time // create_time attribute, else the arrival time
	activeAt  time.Time // when the file entered the active queue
	sender    string
	encoding  string
	envID     string
	ret       int
	smtputf8  int
	traceFlag int // trace_flags attribute (sendmail -v, -bv)

	clientName, clientAddr, clientPort, clientProto, heloName  string
	saslMethod, saslUsername, saslSender, logIdent, rwrContext string

	filter   string // content filter "transport:nexthop" (L record in the envelope; last wins)
	inspect  string // content inspection transport (I record)
	redirect string // redirect target (> record; last wins)
	verp     string // VERP delimiters (V record), once checked by checkVerp
	verpSeen bool   // a V record was read
	verpNull bool   // it came with no sender, or the null sender

	warnTime   time.Time // W record: when to send a delay warning (zero: never)
	warnOffset int64     // offset of the W record, 0 when none

	haveSender bool            // the S record was read
	rcpts      []dsn.Recipient // recipients still to deliver (R records)
	redirOff   int64           // offset of the recipient a redirect replaced
	more       bool            // recipients beyond this chunk remain (see readChunk)
	resume     int             // recipient records before the next chunk
	done       int             // recipients already done (D records)
	notifyOK   bool            // some recipient asked for NOTIFY=SUCCESS
	rcptOffs   []int64         // every R record of a file read in one chunk (nil: read in chunks)

	pending  int           // delivery requests not yet finished
	deferred bool          // some recipient was deferred in this run
	direct   []directDefer // recipients to defer without an agent
}

// errCorrupt marks a queue file that cannot be used.
var errCorrupt = errors.New("corrupt queue file")

// corruptError is a queue file that cannot be used, with the warnings
// Postfix's qmgr logs about it (without "warning: ").
type corruptError struct{ lines []string }

func (c *corruptError) Error() string        { return strings.Join(c.lines, "\n") }
func (c *corruptError) Is(target error) bool { return target == errCorrupt }

// readMessage reads the envelope (and the extracted section) of the queue
// file at path, as Postfix's qmgr_message_read does: the size record, the
// arrival time, the sender, the attributes that travel with each delivery
// request, and every recipient record with its offset. Pointer records are
// followed. A file that is not a complete queue file is errCorrupt.
//
// where names the file in warnings about its records ("active/ID"). The
// message is returned even with an error, so that the caller can log
// what was read before the damage (Postfix logs the from= line as soon as
// it sees the sender).
func readMessage(f io.ReaderAt, id, where string) (*message, error) {
	return readChunk(f, id, where, 0, 0)
}

// readChunk is readMessage for a message read in chunks, as Postfix's
// qmgr reads a message with many recipients: the first skip recipient
// records (R, and D for those done) are passed over, and at most limit
// recipients to deliver are kept (0: all); when more remain, m.more is
// set and m.resume is the skip for the next chunk.
func readChunk(f io.ReaderAt, id, where string, skip, limit int) (*message, error) {
	m := &message{id: id}
	nrec := 0 // recipient records seen, in reading order
	fail := func(lines ...string) (*message, error) {
		return m, &corruptError{lines}
	}
	var pend dsn.Recipient
	var haveSize, haveTime, haveSender, haveEnd bool
	var sec queue.Section
	off := int64(0)
	hops := 0
	// One read buffer for every stretch of the file, from a pool: only
	// strings made from the records' data outlive the call.
	br := recordBuffers.Get().(*bufio.Reader)
	defer func() {
		br.Reset(nil)
		recordBuffers.Put(br)
	}()
	for !haveEnd {
		br.Reset(io.NewSectionReader(f, off, 1<<62))
		rr := record.NewReader(br, 0)
		jumped := false
	records:
		for {
			roff := off + rr.Offset()
			t, data, err := rr.Next()
			if err == io.EOF {
				return fail(id + ": message rejected: missing end record")
			}
			if err != nil {
				return fail(where+": "+err.Error(), id+": message rejected: missing end record")
			}
			if roff == 0 && t != record.Size {
				return fail(id + ": message rejected: missing size record")
			}
			s := string(data)
			if t == record.Pointer {
				to, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
				if err != nil || to < 0 {
					return fail(fmt.Sprintf("%s: bad pointer record: %.100s", id, s))
				}
				if to > 0 {
					if hops++; hops > 10000 {
						return fail(id + ": message rejected: pointer loop")
					}
					off, jumped = to, true
					break records
				}
				continue
			}
			if sec == queue.Content {
				if t == record.Xtra {
					sec = queue.Extracted
				}
				if t == record.End {
					return fail(id + ": message rejected: missing end record")
				}
				continue
			}
			switch t {
			case record.Size:
				if haveSize {
					continue
				}
				sz, err := queue.ParseSize(s)
				if err != nil {
					return fail(fmt.Sprintf("%s: invalid size record: %.100s", id, s))
				}
				m.size, m.smtputf8, haveSize = sz, int(sz.SMTPUTF8), true
				if sz.ContLength == 0 {
					m.size.ContLength = sz.DataSize
				}
			case record.Time:
				if haveTime {
					continue
				}
				f := strings.Fields(s)
				sec, err := strconv.ParseInt(firstOr(f, ""), 10, 64)
				if err != nil {
					return fail(fmt.Sprintf("%s: bad time record: %.100s", id, s))
				}
				var usec int64
				if len(f) > 1 {
					usec, _ = strconv.ParseInt(f[1], 10, 64)
					if usec < 0 || usec >= 1e6 {
						usec = 0
					}
				}
				m.arrival, haveTime = time.Unix(sec, usec*1000), true
			case record.From:
				if !haveSender {
					m.sender, haveSender, m.haveSender = s, true, true
				}
			case record.Warn:
				n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
				if err == nil {
					m.warnOffset = roff
					if n > 0 {
						m.warnTime = time.Unix(n, 0)
					}
				}
			case record.Mesg:
				sec = queue.Content
				// Skip the message text, as Postfix does: the extracted
				// section starts right after it. A file whose size record
				// does not lead to that section is read record by record.
				if x := m.size.DataOffset + m.size.DataSize; haveSize && m.size.DataSize > 0 && x > roff && isXtra(f, x) {
					off, jumped = x, true
					break records
				}
			case record.Xtra:
				sec = queue.Extracted
			case record.Filter: // 'L' outside the message content
				m.filter = s
			case record.Inspector:
				m.inspect = s
			case record.Redirect:
				m.redirect = s
			case record.Verp:
				if !m.verpSeen {
					m.verp, m.verpSeen = s, true
					m.verpNull = !haveSender || m.sender == ""
				}
			case record.End:
				haveEnd = true
			case record.ORcpt:
				pend.Orig = s
			case record.Rcpt:
				pend.Address, pend.Offset = s, roff
				if pend.Notify&dsn.NotifySuccess != 0 {
					m.notifyOK = true
				}
				switch {
				case nrec < skip:
				case limit > 0 && len(m.rcpts) >= limit:
					if !m.more {
						m.more, m.resume = true, nrec
					}
				default:
					m.rcpts = append(m.rcpts, pend)
				}
				nrec++
				pend = dsn.Recipient{}
			case record.Done, record.DRcpt:
				m.done++
				nrec++
				pend = dsn.Recipient{}
			case record.Attr:
				name, value, ok := strings.Cut(s, "=")
				if !ok {
					return fail(fmt.Sprintf("%s: bad attribute record: %.200s", id, s))
				}
				m.attr(name, value, &pend)
			}
			if haveEnd {
				break
			}
		}
		if !jumped && !haveEnd {
			break
		}
	}
	switch {
	case !haveSize:
		return fail(id + ": message rejected: missing size record")
	case !haveTime:
		return fail(id + ": message rejected: missing arrival time record")
	case !haveSender:
		return fail(id + ": message rejected: missing sender record")
	}
	if m.created.IsZero() {
		m.created = m.arrival
	}
	return m, nil
}

// recordBuffers hold the read buffers of readChunk, of the size
// record.NewReader wants (it keeps a bufio.Reader that size as it is).
var recordBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8192) }}

// checkVerp validates the VERP request of m against
// verp_delimiter_filter, as Postfix's qmgr does when it reads the file,
// and returns the warning (without "warning: ") for a request it
// ignores.
func (m *message) checkVerp(filter string) string {
	if !m.verpSeen {
		return ""
	}
	d := m.verp
	m.verp = ""
	switch {
	case m.verpNull:
		return m.id + ": ignoring VERP request for null sender"
	case len(d) != 2 || !strings.ContainsRune(filter, rune(d[0])) || !strings.ContainsRune(filter, rune(d[1])):
		return fmt.Sprintf("%s: ignoring bad VERP request: \"%.100s\"", m.id, d)
	}
	m.verp = d
	return ""
}

// attr handles one named attribute record.
func (m *message) attr(name, value string, pend *dsn.Recipient) {
	switch name {
	case "notify_flags":
		pend.Notify, _ = strconv.Atoi(value)
	case "dsn_orig_rcpt":
		pend.DSNOrig = value
	case "create_time":
		if n, err := strconv.ParseInt(value, 10, 64); err == nil && n > 0 {
			m.created = time.Unix(n, 0)
		}
	case "envelope_id":
		m.envID = value
	case "ret_flags":
		m.ret, _ = strconv.Atoi(value)
	case "encoding":
		m.encoding = value
	case "trace_flags":
		m.traceFlag, _ = strconv.Atoi(value)
	case "log_client_name":
		m.clientName = value
	case "log_client_address":
		m.clientAddr = value
	case "log_client_port":
		m.clientPort = value
	case "log_protocol_name":
		m.clientProto = value
	case "log_helo_name":
		m.heloName = value
	case "sasl_method":
		m.saslMethod = value
	case "sasl_username":
		m.saslUsername = value
	case "sasl_sender":
		m.saslSender = value
	case "log_ident":
		m.logIdent = value
	case "rewrite_context":
		m.rwrContext = value
	}
}

func firstOr(f []string, def string) string {
	if len(f) > 0 {
		return f[0]
	}
	return def
}

// pendingRecipients re-reads the queue file and returns the offsets of the
// recipients that are still to be delivered (R records).
func pendingRecipients(path, id string) (map[int64]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := readMessage(f, id, path)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(m.rcpts))
	for _, r := range m.rcpts {
		out[r.Offset] = true
	}
	return out, nil
}

// maxOffsetSpan bounds the part of a queue file pendingAt reads in one
// go; recipients spread wider are checked by re-reading the file.
const maxOffsetSpan = 1 << 20

// pendingAt returns which of the recipient records at offs in the queue
// file at path are still to be delivered (R records), reading only the
// stretch of the file that holds them: the answer pendingRecipients
// gives for a file whose every R record is at one of offs.
func pendingAt(path string, offs []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(offs))
	if len(offs) == 0 {
		return out, nil
	}
	lo, hi := offs[0], offs[0]
	for _, o := range offs {
		lo, hi = min(lo, o), max(hi, o)
	}
	if lo < 0 || hi-lo >= maxOffsetSpan {
		return nil, errSpan
	}
	fd, err := openFD(path, syscall.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f := &lockedFile{fd: fd, path: path}
	defer f.Close()
	buf := make([]byte, hi-lo+1)
	if _, err := f.pread(buf, lo); err != nil {
		return nil, err
	}
	for _, o := range offs {
		if record.Type(buf[o-lo]) == record.Rcpt {
			out[o] = true
		}
	}
	return out, nil
}

// errSpan: the recipients are too far apart for pendingAt.
var errSpan = errors.New("recipient records too far apart")

// clearWarn rewrites the W record of the file at path so that no further
// delay warning is sent, as Postfix's qmgr_message_update_warn does: the
// record keeps its length and holds -1.
func clearWarn(path string, offset int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	rr := record.NewReader(io.NewSectionReader(f, offset, 1<<20), 0)
	t, data, err := rr.Next()
	if err != nil || t != record.Warn {
		return fmt.Errorf("%s: no warning record at offset %d", path, offset)
	}
	val := fmt.Sprintf("%*d", len(data), -1)
	if _, err := f.WriteAt([]byte(val), offset+rr.Offset()-int64(len(data))); err != nil {
		return err
	}
	return f.Close()
}

// isXtra reports whether the record at off is the start of the extracted
// section.
func isXtra(f io.ReaderAt, off int64) bool {
	var b [1]byte
	_, err := f.ReadAt(b[:], off)
	return err == nil && record.Type(b[0]) == record.Xtra
}
