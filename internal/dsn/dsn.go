// Package dsn holds a delivery status as Postfix passes it between its
// processes and writes it into logs and delivery status notifications: an
// RFC 3463 enhanced status code, an RFC 3464 action, the text that explains
// it, and where it came from (the remote MTA and its reply, or a local
// diagnostic).
//
// A status is temporary when its code starts with 4 and permanent when it
// starts with 5; 2 means success. Recipient is one envelope recipient as the
// queue manager hands it to a delivery agent and as the bounce, defer and
// trace logs record it.
package dsn

import "strings"

// Actions of RFC 3464 section 2.3.3, as Postfix spells them.
const (
	Failed    = "failed"
	Delayed   = "delayed"
	Delivered = "delivered"
	Relayed   = "relayed"
	Expanded  = "expanded"
)

// DSN NOTIFY bits (Postfix's DSN_NOTIFY_*), as kept in notify_flags.
const (
	NotifyNever   = 1 << 0
	NotifySuccess = 1 << 1
	NotifyFailure = 1 << 2
	NotifyDelay   = 1 << 3
)

// DSN RET values (Postfix's DSN_RET_*), as kept in ret_flags.
const (
	RetFull = 1 << 0
	RetHdrs = 1 << 1
)

// Status is the outcome of one delivery attempt for one recipient.
type Status struct {
	Code   string // enhanced status code, "2.0.0", "4.4.1", "5.1.1"
	Action string // Failed, Delayed, Delivered, Relayed or Expanded
	Reason string // human-readable text: "delivered to mailbox", "host x said: ..."
	// DiagType and Diag are the RFC 3464 Diagnostic-Code ("smtp", "550 5.1.1 ...");
	// empty when the status was made locally.
	DiagType, Diag string
	// MTAType and MTA name the remote MTA ("dns", "mx.example.com"); empty
	// for local outcomes.
	MTAType, MTA string
}

// Class returns the first digit of the code: '2', '4' or '5' (0 when the
// code is empty).
func (s Status) Class() byte {
	if s.Code == "" {
		return 0
	}
	return s.Code[0]
}

// Temporary reports whether the status asks for a later retry.
func (s Status) Temporary() bool { return s.Class() == '4' }

// Permanent reports whether the status is a permanent failure.
func (s Status) Permanent() bool { return s.Class() == '5' }

// Success reports whether the status is a success.
func (s Status) Success() bool { return s.Class() == '2' }

// New returns a status with the action that fits the code's class:
// Delivered for 2.x.x, Delayed for 4.x.x and Failed for 5.x.x.
func New(code, reason string) Status {
	s := Status{Code: code, Reason: reason}
	switch s.Class() {
	case '2':
		s.Action = Delivered
	case '4':
		s.Action = Delayed
	default:
		s.Action = Failed
	}
	return s
}

// Valid reports whether code has the form class.subject.detail with class
// 2, 4 or 5 and subject and detail of one to three digits (RFC 3463).
func Valid(code string) bool {
	parts := strings.Split(code, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || !strings.ContainsAny(parts[0], "245") {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 {
			return false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

// Recipient is one envelope recipient with its DSN details and the offset
// of its record in the queue file (so a delivery agent can mark it done).
type Recipient struct {
	Orig    string // original recipient (O record), "" when none
	Address string // the recipient address (R record)
	DSNOrig string // dsn_orig_rcpt, "rfc822;user@example.com", "" when none
	Notify  int    // DSN NOTIFY bits, 0 when none were given
	Offset  int64  // offset of the recipient record in the queue file
}
