package local

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/maptypes"
)

// Deliver delivers the message of r to each of its recipients and
// reports every outcome. A recipient is marked done in the queue file only
// when everything its expansion led to was delivered or bounced, as
// Postfix's local does. The result is 0 when every recipient is done.
func (a *Agent) Deliver(r *deliver.Request) int {
	a.lockThread()
	defer a.unlockThread()
	qf, err := os.Open(r.Layout().Path(r.QueueName, r.QueueID))
	if err != nil {
		maillog.Warn("%s: open queue file: %v", r.QueueID, err)
		return deliver.StatDefer
	}
	defer qf.Close()
	loop, err := deliveredTo(&queueContent{f: qf, off: r.DataOffset})
	if err != nil {
		maillog.Warn("%s: %v", r.QueueID, err)
		return deliver.StatDefer
	}
	msgStat := 0
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		j := &job{a: a, r: r, top: rc, qf: qf, dup: map[string]bool{}, loop: loop}
		s := state{
			rcpt:   *rc,
			sender: r.Sender,
			envid:  r.EnvID,
			ret:    r.Ret,
		}
		stat := j.deliverRecipient(s, userAttr{})
		stat |= j.forwardFinish(s, stat)
		if stat == 0 && r.Flags&deliver.FlagSuccess != 0 && rc.Offset > 0 {
			if err := deliver.MarkDone(r.Layout().Path(r.QueueName, r.QueueID), rc.Offset); err != nil {
				fatalf("update queue file %s: %v", r.Layout().RelPath(r.QueueName, r.QueueID), err)
			}
		}
		msgStat |= stat
	}
	if msgStat != 0 {
		return deliver.StatDefer
	}
	return deliver.StatFinal
}

// deliveredTo returns the addresses of the Delivered-To: headers in the
// message's primary header block, case-folded, for mail loop detection.
func deliveredTo(rd io.Reader) (map[string]bool, error) {
	seen := map[string]bool{}
	br := bufio.NewReader(rd)
	for {
		line, err := br.ReadString('\n')
		text := strings.TrimRight(line, "\n")
		if text == "" {
			break
		}
		if len(text) > 13 && strings.EqualFold(text[:13], "Delivered-To:") {
			v := strings.TrimSpace(text[13:])
			seen[strings.ToLower(v)] = true
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return seen, nil
}

// deliverRecipient delivers to one address: the top-level recipient or
// an address that expansion resolved to this agent. It breaks loops
// (nesting depth, the same address twice, a Delivered-To: header naming
// it), splits the address into user and extension, and hands it to
// deliverSwitch.
func (j *job) deliverRecipient(s state, usr userAttr) int {
	s.level++
	addr := s.rcpt.Address
	if s.level > 100 {
		maillog.Warn("recipient nesting limit exceeded for %s", addr)
		return j.bounce(s, "5.4.6", "recipient nesting limit exceeded")
	}
	if j.beenHere(fmt.Sprintf("recipient %d %s", s.level, addr)) {
		return 0
	}
	if j.loop[strings.ToLower(address.External(addr))] || j.loop[strings.ToLower(addr)] {
		return j.bounceWorkaround(s, dsn.New("5.4.6", fmt.Sprintf("mail forwarding loop for %s", addr)))
	}
	if s.delivered == "" {
		s.delivered = addr
	}
	s.local = strings.ToLower(addr)
	if at := strings.LastIndexByte(s.local, '@'); at >= 0 {
		s.local, s.domain = s.local[:at], s.local[at+1:]
	} else {
		maillog.Warn("no @ in recipient address: %s", s.local)
		s.domain = ""
	}
	s.user, s.extension, s.delim = s.local, "", ""
	if j.a.rcptDelim != "" {
		srch := maptypes.Search{Delimiters: j.a.rcptDelim, DoubleBounce: j.a.doubleBounce}
		user, ext := srch.SplitExtension(s.local)
		if ext != "" {
			s.user, s.delim, s.extension = user, ext[:1], ext[1:]
			if strings.Contains(s.extension, "/") {
				maillog.Warn("%s: address with illegal extension: %s", j.r.QueueID, s.local)
				s.extension, s.delim = "", ""
				s.local = s.user
			}
		}
	}
	s.unmatched = s.extension
	if s.user == "" {
		return j.bounce(s, "5.1.3", "null username in \"%s\"", addr)
	}
	return j.deliverSwitch(s, usr)
}

// deliverSwitch tries the destinations of a local address in Postfix's
// order: aliases (whole local part, then the user without extension),
// resubmission when the address came from someone else's expansion,
// the user's .forward file, the mailbox, and finally the unknown-user
// handling.
func (j *job) deliverSwitch(s state, usr userAttr) int {
	s.level++
	s.unmatched = ""
	if ok, st := j.deliverAlias(s, usr, s.local); ok {
		return st
	}
	if s.extension != "" {
		if j.a.extProp&propAlias != 0 {
			s.unmatched = s.extension
		}
		if ok, st := j.deliverAlias(s, usr, s.user); ok {
			return st
		}
		s.unmatched = s.extension
	}
	// Mail forwarded or aliased to another local user goes back through
	// cleanup, so that each such recipient gets its own queue file record.
	if s.owner != "" && !strings.EqualFold(s.owner, s.user) {
		return j.deliverIndirect(s)
	}
	if s.expType == expInclude {
		return j.deliverIndirect(s)
	}
	if ok, st := j.deliverDotforward(s, usr); ok {
		return st
	}
	if ok, st := j.deliverMailbox(s, usr); ok {
		return st
	}
	return j.deliverUnknown(s, usr)
}

// deliverIndirect forwards the current address through cleanup as part
// of a new message.
func (j *job) deliverIndirect(s state) int {
	if j.beenHere("indirect " + s.rcpt.Address) {
		return 0
	}
	if j.traceOnly() {
		return j.sent(s, "2.0.0", "forwards to %s", s.rcpt.Address)
	}
	if err := j.forwardAppend(s); err != nil {
		maillog.Warn("%s: forward %s: %v", j.r.QueueID, s.rcpt.Address, err)
		return j.deferf(s, "4.3.0", "unable to forward message")
	}
	return 0
}

// deliverResolveAddr rewrites an address from an alias, include or
// .forward file to canonical form and resolves it as the queue manager
// would: addresses that this agent delivers are delivered directly, the
// others are forwarded.
func (j *job) deliverResolveAddr(s state, usr userAttr, addr string) int {
	s.level++
	canon, err := j.a.resolver.Rewrite("local", addr)
	if err != nil {
		return j.deferf(s, "4.3.0", "address resolver failure")
	}
	res, err := j.a.resolver.Resolve("", canon)
	if err != nil || res.Flags&resolveFail != 0 {
		return j.deferf(s, "4.3.0", "address resolver failure")
	}
	if res.Flags&resolveError != 0 {
		return j.bounce(s, "5.1.3", "bad recipient address syntax: %s", res.Recipient)
	}
	rcpt := res.Recipient
	if s.unmatched != "" && j.a.rcptDelim != "" {
		d := j.a.rcptDelim[:1]
		if at := strings.LastIndexByte(rcpt, '@'); at >= 0 {
			rcpt = rcpt[:at] + d + s.unmatched + rcpt[at:]
		} else {
			rcpt += d + s.unmatched
		}
	}
	s.rcpt.Address = rcpt
	if res.Transport == j.a.Service {
		return j.deliverRecipient(s, usr)
	}
	return j.deliverIndirect(s)
}

// bounceWorkaround fails the current address; when it has an owner-
// alias, that owner becomes the sender of the report.
func (j *job) bounceWorkaround(s state, st dsn.Status) int {
	if j.a.ownerRequestSpecial {
		owner, rhs, found, err := j.findOwner(s.rcpt.Address)
		if err != nil {
			return j.deferf(s, "4.3.0", "alias database unavailable")
		}
		if found {
			target := owner
			if j.a.expandOwnerAlias {
				target = rhs
			}
			if canon, err := j.a.resolver.Rewrite("local", target); err == nil {
				s.owner, s.sender = canon, canon
			}
		}
	}
	return j.failStatus(s, st)
}

// findOwner looks up owner-LOCALPART of addr (and of addr without its
// extension) in alias_maps.
func (j *job) findOwner(addr string) (owner, rhs string, found bool, err error) {
	local := addr
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	try := []string{local}
	if j.a.rcptDelim != "" {
		srch := maptypes.Search{Delimiters: j.a.rcptDelim, DoubleBounce: j.a.doubleBounce}
		if user, ext := srch.SplitExtension(local); ext != "" {
			try = append(try, user)
		}
	}
	for _, l := range try {
		name := "owner-" + l
		v, ok, err := j.a.aliasLookup(name)
		if err != nil {
			return "", "", false, err
		}
		if ok {
			return name, v, true, nil
		}
	}
	return "", "", false, nil
}

// deliverUnknown handles a local part that is neither an alias nor a
// user: fallback_transport_maps or fallback_transport take it, or
// luser_relay (after $user, $extension, ... expansion) receives it, or it
// bounces with "unknown user". Missing postmaster and MAILER-DAEMON
// aliases discard the mail with a warning instead.
func (j *job) deliverUnknown(s state, usr userAttr) int {
	s.level++
	a := j.a
	if j.beenHere("deliver_unknown " + s.local) {
		return 0
	}
	if a.fallbackTransMaps.configured() {
		m, found, err := a.fallbackTransMaps.find(s.user)
		if err != nil {
			return j.deferf(s, "4.3.0", "table lookup failure")
		}
		if found {
			return a.pass(j.r, m, *report(s))
		}
	}
	if a.fallbackTransport != "" {
		return a.pass(j.r, a.fallbackTransport, *report(s))
	}
	if a.luserRelay != "" {
		s.unmatched = ""
		relay, _ := localExpand(a.luserRelay, s, usr, "")
		return j.deliverResolveAddr(s, usr, relay)
	}
	if strings.EqualFold(s.user, "MAILER-DAEMON") || strings.EqualFold(s.user, "postmaster") {
		maillog.Warn("required alias not found: %s", s.user)
		return j.sent(s, "2.0.0", "discarded")
	}
	return j.bounce(s, "5.1.1", "unknown user: \"%s\"", s.user)
}
