// Package record reads and writes Postfix queue file records.
//
// A Postfix queue file (and the stream between pickup, cleanup and the
// queue manager) is a sequence of records. Each record is one type byte,
// then the data length, then the data bytes. The length is written in
// groups of 7 bits, least significant group first; every length byte
// except the last has its high bit (0x80) set. A zero length is a single
// 0x00 byte. This is the layout Debian's postcat(1) and qshape(1) read.
//
// Limits follow Postfix: a length takes at most five bytes (more is "too
// many length bits"), and the decoded value is a signed 32-bit number (a
// value with bit 31 set is an "illegal length"). A Reader may impose a
// smaller maximum record length; a longer record is reported and its data
// skipped. Errors carry the same wording as Postfix's warnings, without the
// file name, so a caller can print "FILE: " followed by the error text.
//
// The record letters are the Type constants below. Some letters mean
// different things in different sections of a queue file: 'L' is the loop
// filter in the envelope and a continued text line in the content.
//
// The package reads no configuration parameters.
package record

// Type is a record type byte.
type Type byte

// Record type letters, as used in Postfix queue files.
const (
	Size       Type = 'C' // message size record; the first record of a queue file
	Time       Type = 'T' // arrival time, "seconds microseconds"
	CTime      Type = 'c' // creation time (old form; now an A create_time attribute)
	FullName   Type = 'F' // sender full name
	Inspector  Type = 'I' // content inspection transport
	Filter     Type = 'L' // loop filter transport (envelope section only)
	From       Type = 'S' // envelope sender
	Done       Type = 'D' // recipient already delivered
	Rcpt       Type = 'R' // recipient still to be delivered
	ORcpt      Type = 'O' // original recipient, before rewriting
	DRcpt      Type = '/' // canceled recipient
	Warn       Type = 'W' // time at which to send a delay warning
	Attr       Type = 'A' // named attribute, "name=value"
	Kill       Type = 'K' // killed (deleted) record
	Redirect   Type = '>' // redirect target
	Flags      Type = 'f' // cleanup processing flags
	Mesg       Type = 'M' // start of the message content section
	Cont       Type = 'L' // text line that continues in the next record (content section)
	Norm       Type = 'N' // text line that ends here (content section)
	Padding    Type = 'w' // padding (formerly deleted data)
	Xtra       Type = 'X' // start of the extracted information section
	RRTo       Type = 'r' // return-receipt address, from headers
	ErrTo      Type = 'e' // errors-to address, from headers
	Prio       Type = 'P' // priority
	Pointer    Type = 'p' // pointer to another file offset, "%15ld"
	Verp       Type = 'V' // VERP delimiters
	DSNRet     Type = '<' // DSN return full message or headers only
	DSNEnvID   Type = 'i' // DSN envelope id
	DSNORcpt   Type = 'o' // DSN original recipient address
	DSNNotify  Type = 'n' // DSN notify flags
	MiltCount  Type = 'm' // milter count
	End        Type = 'E' // end of the queue file
	SizeFormat      = "%15d %15d %15d %15d %15d %15d"
)

// Attribute names that cleanup writes in A records.
const (
	AttrCreateTime     = "create_time"     // queue file creation time, seconds
	AttrRewriteContext = "rewrite_context" // "local" or "remote"
	AttrEnvID          = "envelope_id"     // DSN envelope id
	AttrRetFlags       = "ret_flags"       // DSN RET flags, decimal
	AttrNotifyFlags    = "notify_flags"    // DSN NOTIFY flags of the next recipient, decimal
	AttrDSNOrigRcpt    = "dsn_orig_rcpt"   // DSN ORCPT of the next recipient, "type;address"
)

// Name returns the field name postcat prints before a data-carrying record
// of type t in the envelope or extracted section (for example "sender" for
// S), or "unknown_record_type" for a letter postcat has no name for. The
// section markers M, X and E, text records, padding and pointers are shown
// by postcat in other ways and have no name here.
func Name(t Type) string {
	if n, ok := names[t]; ok {
		return n
	}
	return "unknown_record_type"
}

var names = map[Type]string{
	Size:      "message_size",
	Time:      "message_arrival_time",
	CTime:     "queue_file_create_time",
	FullName:  "sender_fullname",
	Inspector: "content_inspector",
	Filter:    "content_filter",
	From:      "sender",
	Done:      "done_recipient",
	Rcpt:      "recipient",
	ORcpt:     "original_recipient",
	DRcpt:     "canceled_recipient",
	Warn:      "warning_message_time",
	Attr:      "named_attribute",
	Kill:      "killed_record",
	Redirect:  "redirect_to",
	Flags:     "flags",
	RRTo:      "return_receipt",
	ErrTo:     "errors_to",
	Prio:      "priority",
	Verp:      "verp_delimiters",
	DSNRet:    "dsn_return_flags",
	DSNEnvID:  "dsn_envelope_id",
	DSNORcpt:  "dsn_original_recipient",
	DSNNotify: "dsn_notify_flags",
}
