package check

import (
	"errors"
	"net/netip"

	"github.com/postfix-go/postfix/internal/dnsbl"
	"github.com/postfix-go/postfix/internal/resolver"
)

// dnsxl is the outcome of one DNS list query: listed (hit), not listed,
// or a temporary failure (soft).
type dnsxl struct {
	hit  *dnsbl.Hit
	soft bool
}

// dnsxlQuery asks a list about name (a reversed address or a domain); a
// malformed "=filter" is a configuration error.
func (e *eval) dnsxlQuery(spec, name string) dnsxl {
	r := e.k.deps.Resolver
	if r == nil {
		return dnsxl{soft: true}
	}
	hit, err := dnsbl.Query(r, spec, name)
	if err != nil {
		var fe *dnsbl.FilterError
		if errors.As(err, &fe) {
			e.k.warn("RBL reply error: %s", fe.Text)
			e.serverError()
		}
		return dnsxl{soft: errors.Is(err, resolver.ErrTemp)}
	}
	return dnsxl{hit: hit}
}

func reverseIP(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return ""
	}
	return dnsbl.ReverseIP(a)
}

// rblAddr is reject_rbl_client.
func (e *eval) rblAddr(spec, addr, replyClass string) status {
	q := reverseIP(addr)
	if q == "" {
		return stDunno
	}
	res := e.dnsxlQuery(spec, q)
	if res.hit == nil {
		return stDunno
	}
	return e.rblReply(res.hit, spec, addr, replyClass)
}

// rblDomain is reject_rhsbl_*.
func (e *eval) rblDomain(spec, what, replyClass string) status {
	d, ok := dnsbl.RHSName(what)
	if !ok {
		return stDunno
	}
	res := e.dnsxlQuery(spec, d)
	if res.hit == nil {
		return stDunno
	}
	return e.rblReply(res.hit, spec, what, replyClass)
}

// dnswlSafe: an allowlist never permits an unauthorized recipient.
func (e *eval) dnswlSafe() bool {
	if e.s.Stage == "RCPT" && e.st().recipient != nil && e.permitAuthDestination(*e.st().recipient) != stOK {
		return false
	}
	return true
}

// dnswlAddr is permit_dnswl_client.
func (e *eval) dnswlAddr(spec, addr, replyClass string) status {
	if !e.dnswlSafe() {
		return stDunno
	}
	q := reverseIP(addr)
	if q == "" {
		return stDunno
	}
	return e.dnswlResult(e.dnsxlQuery(spec, q), addr, replyClass)
}

// dnswlDomain is permit_rhswl_client.
func (e *eval) dnswlDomain(spec, what, replyClass string) status {
	if !e.dnswlSafe() {
		return stDunno
	}
	d, ok := dnsbl.RHSName(what)
	if !ok {
		return stDunno
	}
	return e.dnswlResult(e.dnsxlQuery(spec, d), what, replyClass)
}

func (e *eval) dnswlResult(res dnsxl, what, replyClass string) status {
	switch {
	case res.soft:
		e.deferIfReject(classPolicy, 450, "4.7.1", "<%s>: %s rejected: %s", what, replyClass, "Service unavailable")
	case res.hit != nil:
		return stOK
	}
	return stDunno
}

// rblReply formats the reply for a listing from rbl_reply_maps or
// default_rbl_reply.
func (e *eval) rblReply(hit *dnsbl.Hit, spec, what, replyClass string) status {
	k, s, st := e.k, e.s, e.st()
	tmpl := ""
	if len(k.rblReply) > 0 {
		v, ok, err := k.rblReply.Find(spec, false)
		if err != nil {
			e.serverError()
		}
		if ok {
			tmpl = v
		}
	}
	ctx := dnsbl.Context{ServerName: k.c.Get("myhostname"), ClientName: s.Name, ClientAddr: s.Addr,
		ClientPort: s.Port, ReverseClientName: s.ReverseName, HELO: str(st.helo),
		Sender: str(st.sender), HaveSender: st.sender != nil, Recipient: str(st.recipient), HaveRecipient: st.recipient != nil}
	vars := dnsbl.Vars(ctx, hit, k.p.rblCode, replyClass, what)
	res, err := dnsbl.Reply(k.p.defRBLReply, tmpl, hit, vars, k.p.expFilter)
	if err != nil {
		k.warn("%v", err)
		e.serverError()
	}
	return e.reject(classPolicy, res.Code, res.DSN, "%s", res.Text)
}
