package queue

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/record"
)

// Attr is one named attribute (an A record, "name=value").
type Attr struct {
	Name, Value string
}

// Recipient is one envelope recipient with its DSN details.
type Recipient struct {
	Address string // R (or D when Done) record
	Orig    string // O record: the address before rewriting; "" for none
	DSNOrig string // dsn_orig_rcpt attribute, "type;address"; "" for none
	Notify  int    // notify_flags attribute (DSN NOTIFY bits); 0 for none
	Done    bool   // already delivered (D record instead of R)
}

// Message is the content of one queue file. Encode writes its records in
// the order cleanup(8) uses:
//
//	C  size record (six fixed-width fields, computed by Encode)
//	T  arrival time "seconds microseconds"
//	A  create_time=SECONDS                       (when Created is set)
//	A  envelope_id=…, A ret_flags=N              (when set)
//	A  rewrite_context=…                         (when set)
//	F  sender full name                          (when set)
//	S  sender (always; "" is the null sender)
//	A  other envelope attributes, in order
//	   each recipient: [A notify_flags] [A dsn_orig_rcpt] [O] R|D
//	M  start of content; one N record per line, long lines split into L
//	   records of LineLimit bytes
//	X  start of extracted information: attributes, then recipients
//	E  end
type Message struct {
	Arrival        time.Time // T record
	Created        time.Time // create_time attribute; zero omits it
	EnvID          string    // envelope_id attribute (DSN ENVID)
	RetFlags       int       // ret_flags attribute (DSN RET); 0 omits it
	RewriteContext string    // rewrite_context attribute: "local" or "remote"
	FullName       string    // F record; "" omits it
	Sender         string    // S record
	Attrs          []Attr    // further envelope attributes
	Recipients     []Recipient
	// Content is the message (headers, empty line, body) with lines ended
	// by "\n". A last line without "\n" is stored as if it had one.
	Content []byte
	// ExtractedAttrs and Extracted are the attributes and recipients of
	// the extracted section (recipients taken from headers, as with
	// sendmail -t).
	ExtractedAttrs []Attr
	Extracted      []Recipient
	QmgrOpts       int // fourth size field: queue manager flags
	SMTPUTF8       int // sixth size field: SMTPUTF8 request flags
	// ContLength is the fifth size field; 0 means "same as the content
	// segment size", which is what cleanup writes.
	ContLength int64
}

// Size is the decoded C record.
type Size struct {
	DataSize   int64 // bytes from the first content record to the X record
	DataOffset int64 // offset of the first content record
	RcptCount  int64 // number of recipients
	QmgrOpts   int64 // queue manager flags
	ContLength int64 // content length
	SMTPUTF8   int64 // SMTPUTF8 flags
}

// sizeLen is the data length of the C record: six 15-wide fields and five
// spaces.
const sizeLen = 6*15 + 5

func recLen(n int) int64 { return int64(1 + record.LengthSize(n) + n) }

// lines calls fn for every content line, without its "\n".
func lines(content []byte, fn func(line []byte) error) error {
	for len(content) > 0 {
		i := bytes.IndexByte(content, '\n')
		if i < 0 {
			return fn(content)
		}
		if err := fn(content[:i]); err != nil {
			return err
		}
		content = content[i+1:]
	}
	return nil
}

func (m *Message) envelope(w *record.Writer) {
	w.Putf(record.Time, "%d %d", m.Arrival.Unix(), m.Arrival.Nanosecond()/1000)
	if !m.Created.IsZero() {
		w.PutAttr(record.AttrCreateTime, strconv.FormatInt(m.Created.Unix(), 10))
	}
	if m.EnvID != "" {
		w.PutAttr(record.AttrEnvID, m.EnvID)
	}
	if m.RetFlags != 0 {
		w.PutAttr(record.AttrRetFlags, strconv.Itoa(m.RetFlags))
	}
	if m.RewriteContext != "" {
		w.PutAttr(record.AttrRewriteContext, m.RewriteContext)
	}
	if m.FullName != "" {
		w.PutString(record.FullName, m.FullName)
	}
	w.PutString(record.From, m.Sender)
	for _, a := range m.Attrs {
		w.PutAttr(a.Name, a.Value)
	}
	putRecipients(w, m.Recipients)
}

func putRecipients(w *record.Writer, rcpts []Recipient) {
	for _, r := range rcpts {
		if r.Notify != 0 {
			w.PutAttr(record.AttrNotifyFlags, strconv.Itoa(r.Notify))
		}
		if r.DSNOrig != "" {
			w.PutAttr(record.AttrDSNOrigRcpt, r.DSNOrig)
		}
		if r.Orig != "" {
			w.PutString(record.ORcpt, r.Orig)
		}
		t := record.Rcpt
		if r.Done {
			t = record.Done
		}
		w.PutString(t, r.Address)
	}
}

// Encode writes m as a complete queue file to w and returns the size
// record it wrote. lineLimit is line_length_limit (0 means the default).
func (m *Message) Encode(w io.Writer, lineLimit int) (Size, error) {
	if lineLimit <= 0 {
		lineLimit = DefaultLineLimit
	}
	for _, a := range append(slices.Clip(m.Attrs), m.ExtractedAttrs...) {
		if a.Name == "" || strings.ContainsAny(a.Name, "= \t\r\n\v\f") {
			return Size{}, fmt.Errorf("queue: bad attribute name %q", a.Name)
		}
	}
	// The envelope is small: lay it out in memory to learn where the
	// content starts, then stream the rest.
	var env bytes.Buffer
	ew := record.NewWriter(&env)
	m.envelope(ew)
	ew.Put(record.Mesg, nil)
	if err := ew.Flush(); err != nil {
		return Size{}, err
	}
	dataOffset := recLen(sizeLen) + int64(env.Len())
	var dataSize int64
	lines(m.Content, func(line []byte) error {
		for len(line) > lineLimit {
			dataSize += recLen(lineLimit)
			line = line[lineLimit:]
		}
		dataSize += recLen(len(line))
		return nil
	})
	sz := Size{
		DataSize:   dataSize,
		DataOffset: dataOffset,
		RcptCount:  int64(len(m.Recipients) + len(m.Extracted)),
		QmgrOpts:   int64(m.QmgrOpts),
		ContLength: m.ContLength,
		SMTPUTF8:   int64(m.SMTPUTF8),
	}
	if sz.ContLength == 0 {
		sz.ContLength = dataSize
	}
	rw := record.NewWriter(w)
	rw.PutString(record.Size, sz.String())
	rw.Flush()
	if _, err := w.Write(env.Bytes()); err != nil {
		return Size{}, err
	}
	lines(m.Content, func(line []byte) error { return rw.PutText(line, lineLimit) })
	rw.Put(record.Xtra, nil)
	for _, a := range m.ExtractedAttrs {
		rw.PutAttr(a.Name, a.Value)
	}
	putRecipients(rw, m.Extracted)
	rw.Put(record.End, nil)
	return sz, rw.Flush()
}

// String formats s as the data of a C record.
func (s Size) String() string {
	return fmt.Sprintf(record.SizeFormat, s.DataSize, s.DataOffset, s.RcptCount, s.QmgrOpts, s.ContLength, s.SMTPUTF8)
}
