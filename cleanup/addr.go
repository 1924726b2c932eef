package cleanup

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/maptypes"
)

// Address classes of canonical_classes and masquerade_classes.
const (
	clsEnvSender = "envelope_sender"
	clsEnvRcpt   = "envelope_recipient"
	clsHdrSender = "header_sender"
	clsHdrRcpt   = "header_recipient"
)

// maxCanonRecursion bounds one-to-one (canonical) mapping chains.
const maxCanonRecursion = 10

// rewriteAddr asks trivial-rewrite to rewrite addr with ruleset. On
// failure the message is deferred: the address cannot be trusted.
func (st *state) rewriteAddr(ruleset, addr string) string {
	out, err := st.d.rw.Rewrite(ruleset, addr)
	if err != nil {
		st.d.Warn("%s: address rewriting problem for %s: %v", st.id, addr, err)
		st.defer_("4.3.0 address rewriting problem")
		return addr
	}
	return out
}

// defer_ marks the message for a temporary failure (queue file write
// error, as Postfix reports a failed table lookup).
func (st *state) defer_(reason string) {
	st.errs |= submit.StatWrite
	st.setReason(reason)
}

// tableError reports a failed lookup in maps (named by parameter).
func (st *state) tableError(param, addr string) {
	st.d.Warn("%s: %s map lookup problem for %s -- message not accepted, try again later", st.id, param, addr)
	st.errs |= submit.StatWrite
}

// map11 applies one-to-one mapping (canonical) to addr.
func (st *state) map11(param string, m maptypes.Maps, addr string) string {
	if len(m) == 0 {
		return addr
	}
	for i := 0; i < maxCanonRecursion; i++ {
		match, ok, err := st.d.search.Address(m, addr)
		if err != nil {
			st.tableError(param, addr)
			return addr
		}
		if !ok {
			return addr
		}
		next := withUser(firstAddr(match.Value), addr)
		if match.Ext != "" && st.d.extProp["canonical"] {
			next = addExtension(next, match.Ext)
		}
		next = st.rewriteAddr("local", next)
		if next == addr {
			return addr
		}
		addr = next
	}
	st.d.Warn("%s: unreasonable %s map nesting for %s", st.id, param, addr)
	return addr
}

// firstAddr returns the first address of a table value.
func firstAddr(v string) string {
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// withUser completes a table result of the form "@domain" with the local
// part of the address that was looked up, as canonical(5) and virtual(5)
// say.
func withUser(result, addr string) string {
	if strings.HasPrefix(result, "@") {
		local, _, _ := maptypes.SplitAddress(addr)
		return local + result
	}
	return result
}

// addExtension puts ext (with its delimiter) back into addr's local part.
func addExtension(addr, ext string) string {
	local, domain, hasAt := maptypes.SplitAddress(addr)
	if hasAt {
		return local + ext + "@" + domain
	}
	return addr + ext
}

// canonical applies sender_ or recipient_canonical_maps and then
// canonical_maps for the address class cls.
func (st *state) canonical(addr, cls string, sender bool) string {
	if sender {
		if st.d.sendCanCls[cls] {
			addr = st.map11("sender_canonical_maps", st.d.sendCanon, addr)
		}
	} else if st.d.rcptCanCls[cls] {
		addr = st.map11("recipient_canonical_maps", st.d.rcptCanon, addr)
	}
	if st.d.canonCls[cls] {
		addr = st.map11("canonical_maps", st.d.canon, addr)
	}
	return addr
}

// masquerade strips subdomains listed in masquerade_domains.
func (st *state) masquerade(addr string) string {
	if len(st.d.masq) == 0 {
		return addr
	}
	local, domain, hasAt := maptypes.SplitAddress(addr)
	if !hasAt || st.d.masqExcept[strings.ToLower(local)] {
		return addr
	}
	dom := strings.ToLower(domain)
	for _, m := range st.d.masq {
		if strings.HasPrefix(m, "!") {
			if dom == m[1:] {
				return addr
			}
			continue
		}
		if strings.HasSuffix(dom, "."+m) {
			return local + "@" + m
		}
	}
	return addr
}

// addSender processes the envelope sender and writes the S record.
func (st *state) addSender(buf string) {
	if !isASCII(buf) {
		st.smtputf8 |= utf8Sender
	}
	addr := buf
	if addr != "" {
		addr = st.rewriteAddr("local", addr)
	}
	if st.flags&submit.FlagMapOK != 0 && addr != "" {
		addr = st.canonical(addr, clsEnvSender, true)
		if st.d.masqCls[clsEnvSender] {
			addr = st.masquerade(addr)
		}
	}
	st.put(record.From, addr)
	st.sender = &addr
	if st.flags&submit.FlagBCCOK != 0 && addr != "" && len(st.d.sendBcc) > 0 {
		if bcc, ok := st.bccLookup("sender_bcc_maps", st.d.sendBcc, addr); ok {
			st.addBCC(bcc)
		}
	}
}

func (st *state) bccLookup(param string, m maptypes.Maps, addr string) (string, bool) {
	s := st.d.search
	s.Delimiters = "" // Postfix ignores the address extension here
	match, ok, err := s.Address(m, addr)
	if err != nil {
		// Postfix names no address here.
		st.d.Warn("%s: %s map lookup problem -- message not accepted, try again later", st.id, param)
		st.errs |= submit.StatWrite
		return "", false
	}
	return match.Value, ok
}

// addRecipient processes one envelope recipient (buf as the client sent
// it, orig its original form) and writes its records.
func (st *state) addRecipient(buf, orig string) {
	if !isASCII(buf) {
		st.smtputf8 |= utf8Recipient
	}
	src := buf
	if src == "" {
		src = st.d.emptyRcpt
	}
	addr := st.rewriteAddr("local", src)
	if st.flags&submit.FlagMapOK != 0 {
		addr = st.canonical(addr, clsEnvRcpt, false)
		if st.d.masqCls[clsEnvRcpt] {
			addr = st.masquerade(addr)
		}
	}
	dsnOrcpt := ""
	if st.dsnOrcpt != nil {
		dsnOrcpt = *st.dsnOrcpt
	} else if addr != "" {
		dsnOrcpt = "rfc822;" + addr
	}
	st.outRecipient(dsnOrcpt, st.dsnNotify, orig, addr)
	// The last recipient is the one content action logs name.
	st.recip = addr
	st.recipSeen = true
	if st.flags&submit.FlagBCCOK != 0 && addr != "" && len(st.d.rcptBcc) > 0 {
		if bcc, ok := st.bccLookup("recipient_bcc_maps", st.d.rcptBcc, addr); ok {
			st.addBCC(bcc)
		}
	}
}

// addBCC adds an automatic BCC recipient.
func (st *state) addBCC(bcc string) {
	addr := st.rewriteAddr("local", bcc)
	if st.flags&submit.FlagMapOK != 0 {
		addr = st.canonical(addr, clsEnvRcpt, false)
		if st.d.masqCls[clsEnvRcpt] {
			addr = st.masquerade(addr)
		}
	}
	st.outRecipient("", notifyNever, addr, addr)
}

// outRecipient expands virtual aliases, drops duplicates and writes the
// recipient records.
func (st *state) outRecipient(dsnOrcpt string, notify int, orig, rcpt string) {
	list := []string{rcpt}
	if st.flags&submit.FlagMapOK != 0 && len(st.d.virt) > 0 {
		var err error
		list, err = st.expand(rcpt)
		if err != nil {
			return
		}
		if notify&notifySuccess != 0 && (len(list) > 1 || list[0] != rcpt) {
			// Postfix records an "expanded" success notice in the trace
			// log here; the SUCCESS request does not travel further.
			if notify == notifySuccess {
				notify = notifyNever
			} else {
				notify &^= notifySuccess
			}
		}
	}
	for _, r := range list {
		key := strings.ToLower(r)
		if st.d.origRcpt {
			key = strings.ToLower(fmt.Sprintf("%s\n%d\n%s\n%s", dsnOrcpt, notify, orig, r))
		}
		if st.dups[key] {
			continue
		}
		if st.d.dupLimit <= 0 || len(st.dups) < st.d.dupLimit {
			st.dups[key] = true
		}
		if notify != 0 {
			st.put(record.Attr, "notify_flags="+strconv.Itoa(notify))
		}
		if dsnOrcpt != "" {
			st.put(record.Attr, "dsn_orig_rcpt="+dsnOrcpt)
		}
		st.put(record.ORcpt, orig)
		st.put(record.Rcpt, r)
		st.rcptCount++
	}
}

var errExpand = errors.New("alias expansion error")

// expand does virtual alias expansion of addr, with Postfix's limits.
func (st *state) expand(addr string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var walk func(a string, depth int) error
	walk = func(a string, depth int) error {
		if depth >= st.d.cfg.Int("virtual_alias_recursion_limit") {
			st.d.Warn("%s: unreasonable virtual_alias_maps map nesting for %s -- message not accepted, try again later", st.id, addr)
			st.errs |= submit.StatDefer
			st.setReason("4.6.0 Alias expansion error")
			return errExpand
		}
		match, ok, err := st.d.search.Address(st.d.virt, a)
		if err != nil {
			st.tableError("virtual_alias_maps", a)
			st.reason = "4.6.0 Alias expansion error"
			return err
		}
		if !ok {
			out = append(out, a)
			return nil
		}
		for _, v := range strings.FieldsFunc(match.Value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			v = withUser(v, a)
			if match.Ext != "" && st.d.extProp["virtual"] {
				v = addExtension(v, match.Ext)
			}
			v = st.rewriteAddr("local", v)
			if strings.EqualFold(v, a) || seen[v] {
				out = append(out, v)
				continue
			}
			seen[v] = true
			if err := walk(v, depth+1); err != nil {
				return err
			}
			if len(out) > st.d.cfg.Int("virtual_alias_expansion_limit") {
				st.d.Warn("%s: unreasonable virtual_alias_maps map expansion size for %s -- message not accepted, try again later", st.id, addr)
				st.errs |= submit.StatDefer
				st.setReason("4.6.0 Alias expansion error")
				return errExpand
			}
		}
		return nil
	}
	if err := walk(addr, 0); err != nil {
		return nil, err
	}
	return out, nil
}
