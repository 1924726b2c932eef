package rewrite

import (
	"strings"
	"unicode/utf8"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/maptypes"
)

// Resolve answers a "resolve" request: the transport, nexthop and final
// recipient for addr (internal form) in mail from sender.
func (e *Engine) Resolve(sender, addr string) Resolution {
	return e.resolveAddr(e.regular, sender, addr)
}

// Verify answers a "verify" request, with the address_verify_*
// transports, relayhost and tables.
func (e *Engine) Verify(sender, addr string) Resolution {
	return e.resolveAddr(e.verify, sender, addr)
}

// resolveAddr follows Postfix's resolver: strip every local domain from
// the end of the address (rewriting what is left, so that routing
// operators in the local part are seen), then classify the domain that
// remains and pick its transport and nexthop; transport_maps and
// relocated_maps have the last word.
func (e *Engine) resolveAddr(rp *resContext, sender, addr string) (r Resolution) {
	r = Resolution{Transport: "CHANNEL NOT UPDATED", Nexthop: "NEXTHOP NOT UPDATED", Recipient: "NEXTRCPT NOT UPDATED"}
	tree := address.Scan(address.External(addr))
	var saved []*address.Token
	haveSaved := false
	remote := false // the loop stopped at a domain that is not local
	loopMax := len(addr) + 100
	for loop := 0; ; loop++ {
		if loop > loopMax {
			e.warn("resolve_addr: <%s>: giving up after %d iterations", addr, loop)
			r.Flags |= FlagFail
			return r
		}
		n := len(tree)
		// Strip a trailing dot after the domain, but not ".." nor "@.".
		if n >= 2 && tree[n-1].Type == '.' && address.RFindType(tree, n-1, '@') >= 0 &&
			tree[n-2].Type != '.' && tree[n-2].Type != '@' {
			tree = tree[:n-1]
		}
		// A trailing '@' means the null domain.
		if e.resolveNullDomain && len(tree) > 0 && tree[len(tree)-1].Type == '@' {
			tree = tree[:len(tree)-1]
		}
		// Strip (and remember) @domain when it is local.
		if at := address.RFindType(tree, len(tree)-1, '@'); at >= 0 {
			if at+1 < len(tree) {
				rc := e.resolveLocal(address.Internalize(tree[at+1:]))
				if rc < 0 {
					r.Flags |= FlagFail
					return r
				}
				if rc == 0 {
					remote = true
					break
				}
			}
			saved, haveSaved = tree[at:], true
			tree = tree[:at:at]
		}
		// Routing operators left in the local part: rewrite and retry.
		if address.RFindType(tree, len(tree)-1, '@') >= 0 ||
			(e.swapBangpath && address.RFindType(tree, len(tree)-1, '!') >= 0) ||
			(e.percentHack && address.RFindType(tree, len(tree)-1, '%') >= 0) {
			tree = e.rewriteTree(&e.local, tree)
			continue
		}
		// Look for routing operators inside a quoted local part.
		if e.resolveDequoted && len(tree) == 1 && tree[0].Type == address.QString {
			local := tree[0].Text
			op := strings.LastIndexByte(local, '@')
			if op < 0 && e.percentHack {
				op = strings.LastIndexByte(local, '%')
			}
			if op < 0 && e.swapBangpath {
				op = strings.LastIndexByte(local, '!')
			}
			if op >= 0 {
				if local[op] == '%' {
					local = local[:op] + "@" + local[op+1:]
				}
				buf := local
				if local[op] == '@' {
					buf = address.External(buf)
				}
				tree = e.rewriteTree(&e.local, address.Scan(buf))
				continue
			}
		}
		// An empty local part becomes $empty_address_recipient.
		if len(tree) == 1 && tree[0].Type == address.QString && tree[0].Text == "" {
			tree = nil
		}
		if len(tree) == 0 {
			tree = address.Scan(e.emptyAddr)
			continue
		}
		// No domain at all: try again with @$myhostname.
		if !haveSaved {
			tree = address.Append(tree, address.Op('@'))
			tree = address.Append(tree, address.Scan(e.myhostname)...)
			continue
		}
		break
	}
	if !remote {
		if haveSaved {
			tree = address.Append(tree, saved...)
		} else {
			tree = address.Append(tree, address.Op('@'))
			tree = address.Append(tree, address.Scan(e.myhostname)...)
		}
	}

	rcpt := address.Internalize(tree)
	at := strings.LastIndexByte(rcpt, '@')
	domain := rcpt[at+1:]
	// With SMTPUTF8 on, an address that is not valid UTF-8 is bad syntax,
	// whatever its domain looks like.
	if e.smtputf8 && !utf8.ValidString(rcpt) {
		r.Flags |= FlagError
	} else if strings.HasPrefix(domain, "[") {
		if !validMailhostLiteral(domain, nil) {
			r.Flags |= FlagError
		}
	} else if !e.validUTF8Hostname(domain) {
		if e.resolveNumericDomain && validHostaddr(domain, nil) {
			domain = "[" + domain + "]"
			rcpt = rcpt[:at+1] + domain
			rc := e.resolveLocal(domain)
			if rc > 0 {
				remote = false
			} else if rc < 0 {
				r.Recipient = rcpt
				r.Flags |= FlagFail
				return r
			}
		} else {
			r.Flags |= FlagError
		}
	}
	r.Recipient = rcpt
	if r.Flags&FlagError != 0 {
		r.Flags |= ClassDefault
		return r
	}
	// Routing operators in the local part, whatever this machine does with
	// them: the next hop may treat them as such.
	if i := strings.IndexAny(rcpt, "@!%"); rcpt[i+1:] != domain {
		r.Flags |= FlagRouted
	}

	var blame string
	if remote {
		if ok, err := e.virtAlias.match(domain); ok {
			if e.helpfulWarnings {
				if ok, _ := e.virtMailbox.match(domain); ok {
					e.warn("do not list domain %s in BOTH %s and %s", domain, "virtual_alias_domains", "virtual_mailbox_domains")
				}
				if ok, _ := e.relayDomains.match(domain); ok {
					e.warn("do not list domain %s in BOTH %s and %s", domain, "virtual_alias_domains", "relay_domains")
				}
			}
			r.Transport = "error"
			r.Nexthop = "5.1.1 User unknown"
			if e.showUnknown {
				r.Nexthop += " in virtual alias table"
			}
			r.Flags |= ClassAlias
		} else if err != nil {
			e.warn("%s lookup failure", "virtual_alias_domains")
			r.Flags |= FlagFail
			return r
		} else if ok, err := e.virtMailbox.match(domain); ok {
			if e.helpfulWarnings {
				if ok, _ := e.relayDomains.match(domain); ok {
					e.warn("do not list domain %s in BOTH %s and %s", domain, "virtual_mailbox_domains", "relay_domains")
				}
			}
			r.Transport, r.Nexthop, blame = rp.virtTransport, domain, rp.virtName
			r.Flags |= ClassVirtual
		} else if err != nil {
			e.warn("%s lookup failure", "virtual_mailbox_domains")
			r.Flags |= FlagFail
			return r
		} else {
			if ok, err := e.relayDomains.match(domain); ok {
				r.Transport, blame = rp.relayTransport, rp.relayName
				r.Flags |= ClassRelay
			} else if err != nil {
				e.warn("%s lookup failure", "relay_domains")
				r.Flags |= FlagFail
				return r
			} else {
				key := sender
				if key == "" {
					key = rp.nullDefXportKey
				}
				// An empty result is a failed lookup (Postfix's
				// "ignoring null lookup result" cannot happen in 3.7:
				// its table layer turns the empty value into an error
				// first), and so it is here: reportedMaps.
				if xport, ok, err := e.senderLookup(rp.sndDefXport, key); ok {
					if strings.EqualFold(xport, "DUNNO") {
						xport = rp.defTransport
					}
					r.Transport, blame = xport, rp.sndDefXportName
				} else if err != nil {
					e.warn("%s lookup failure", rp.sndDefXportName)
					r.Flags |= FlagFail
					return r
				} else {
					r.Transport, blame = rp.defTransport, rp.defName
				}
				r.Flags |= ClassDefault
			}
			key := sender
			if key == "" {
				key = rp.nullRelayKey
			}
			relay, ok, err := e.senderLookup(rp.sndRelay, key)
			// DUNNO ends the search without overriding $relayhost.
			if ok && !strings.EqualFold(relay, "DUNNO") {
				r.Nexthop = relay
			} else if err != nil {
				e.warn("%s lookup failure", rp.sndRelayName)
				r.Flags |= FlagFail
				return r
			} else if rp.relayhost != "" {
				r.Nexthop = rp.relayhost
			} else {
				r.Nexthop = domain
			}
		}
	} else {
		if e.helpfulWarnings {
			if ok, _ := e.virtAlias.match(domain); ok {
				e.warn("do not list domain %s in BOTH %s and %s", domain, "mydestination", "virtual_alias_domains")
			}
			if ok, _ := e.virtMailbox.match(domain); ok {
				e.warn("do not list domain %s in BOTH %s and %s", domain, "mydestination", "virtual_mailbox_domains")
			}
		}
		r.Transport, r.Nexthop, blame = rp.localTransport, domain, rp.localName
		r.Flags |= ClassLocal
	}

	// "transport:nexthop" in main.cf overrides the nexthop.
	if i := strings.IndexByte(r.Transport, ':'); i >= 0 {
		if dest := r.Transport[i+1:]; dest != "" {
			r.Nexthop = dest
		}
		r.Transport = r.Transport[:i]
	}
	if r.Transport == "" {
		e.warn("file %s/%s: parameter %s: null transport is not allowed", e.configDir, "main.cf", blame)
		r.Flags |= FlagFail
		return r
	}

	if rp.transport != nil && r.Flags&ClassAlias == 0 {
		if _, err := rp.transport.lookup(r.Recipient, domain, &r.Transport, &r.Nexthop); err != nil {
			e.warn("%s lookup failure", rp.transportName)
			r.Flags |= FlagFail
			return r
		}
	}

	if len(e.relocated) > 0 {
		m, ok, err := e.search.Address(e.relocated, r.Recipient)
		if ok {
			r.Transport = "error"
			r.Nexthop = "5.1.6 User has moved to " + m.Value
		} else if err != nil {
			e.warn("%s lookup failure", "relocated_maps")
			r.Flags |= FlagFail
			return r
		}
	}

	if !e.allowMinUser && strings.HasPrefix(r.Recipient, "-") {
		r.Flags |= FlagError
	}
	return r
}

// senderLookup searches sender-dependent tables for key in the
// mail_addr_find order.
func (e *Engine) senderLookup(m maptypes.Maps, key string) (string, bool, error) {
	if len(m) == 0 {
		return "", false, nil
	}
	res, ok, err := e.search.Address(m, key)
	return res.Value, ok, err
}
