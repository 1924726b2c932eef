// Package dnsbl implements the DNS list look-ups of smtpd's restrictions,
// as Postfix 3.7 does them: reject_rbl_client, permit_dnswl_client (client
// address, reversed), reject_rhsbl_client, _reverse_client, _helo, _sender,
// _recipient and permit_rhswl_client (a domain name), with the
// "=d.d.d.d" reply filters, the TXT reason ($rbl_reason) and the reply
// template of default_rbl_reply or rbl_reply_maps.
//
// A look-up asks the A records of NAME.LISTDOMAIN (NAME = ReverseIP(addr),
// or RHSName(what)). No A record (NXDOMAIN or no data): not listed. A
// temporary failure is logged as Postfix logs it
// ("warning: 2.0.0.127.zen.test: RBL lookup error: Host or domain name not
// found. Name service error for name=2.0.0.127.zen.test type=A: Host not
// found, try again") and returned as an error matching resolver.ErrTemp:
// a blocklist then does not reject (the client gets the benefit of the
// doubt); an allowlist defers if the request would later be rejected. With
// a filter, only A records that fit it list the name. When listed, the
// TXT records of the same name (the first character string of each, bytes
// outside printable ASCII made blanks) are joined with " / " (at most 500
// bytes) into $rbl_reason.
//
// The reply: Reply expands the template (rbl_reply_maps' entry for the
// list reference as written, else default_rbl_reply) with the session
// values and the $rbl_* values, once, each value passed through
// smtpd_expansion_filter (other characters become "_"); the result must
// start with a 4XX or 5XX code and a space, else Postfix's warning
// "rbl response code configuration error" and 450 4.7.1 Service
// unavailable. An enhanced status code after the code is kept (default
// 4.7.1; the caller fixes its class digit and kind as smtpd_check does).
//
// Parameters (read by the caller and passed in): default_rbl_reply,
// rbl_reply_maps, maps_rbl_reject_code, smtpd_expansion_filter.
package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/resolver"
)

// Hit describes a listing.
type Hit struct {
	Spec  Spec         // the list reference that matched
	Query string       // the name asked for ("2.0.0.127.zen.test")
	Addrs []netip.Addr // the A records of the answer (all of them)
	TXT   string       // the TXT records joined with " / ", "" when none
}

// warnf, when set (tests), receives warnings instead of the log.
var warnf func(format string, args ...any)

func warn(format string, args ...any) {
	if warnf != nil {
		warnf(format, args...)
		return
	}
	maillog.Warn(format, args...)
}

// infof, when set (tests), receives informational lines instead of the log.
var infof func(format string, args ...any)

func info(format string, args ...any) {
	if infof != nil {
		infof(format, args...)
		return
	}
	maillog.Info(format, args...)
}

// txtLimit is how much TXT text Postfix keeps.
const txtLimit = 500

// Query looks name (a reversed address or a domain) up in the list that
// domainSpec names ("zen.test" or "zen.test=127.0.0.[2..11]"). It returns
// a Hit when listed, (nil, nil) when not, and on a temporary DNS failure
// (nil, err) with errors.Is(err, resolver.ErrTemp), the warning logged. A
// malformed filter is a *FilterError (Postfix: fatal).
func Query(r *resolver.Resolver, domainSpec, name string) (*Hit, error) {
	spec, err := ParseSpec(domainSpec)
	if err != nil {
		return nil, err
	}
	return QuerySpec(r, spec, name)
}

// QuerySpec is Query with a parsed list reference.
func QuerySpec(r *resolver.Resolver, spec Spec, name string) (*Hit, error) {
	q := name + "." + spec.Domain
	rrs, err := r.Lookup(q, dns.TypeA)
	if err != nil {
		if errors.Is(err, resolver.ErrTemp) {
			warn("%s: RBL lookup error: %v", q, err)
			return nil, err
		}
		return nil, nil
	}
	hit := &Hit{Spec: spec, Query: q}
	for _, rr := range rrs {
		if a, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			hit.Addrs = append(hit.Addrs, a)
		}
	}
	if recs, err := r.TXTStrings(q); err == nil {
		// Postfix keeps the first character string of each record, its
		// unprintable bytes made blanks.
		var txt []string
		for _, strs := range recs {
			if len(strs) > 0 {
				txt = append(txt, printable(strs[0]))
			}
		}
		hit.TXT = joinTXT(txt)
	}
	if spec.Filter != nil {
		matched := false
		for _, a := range hit.Addrs {
			if spec.Filter.Match(a) {
				matched = true
				break
			}
		}
		if !matched {
			return nil, nil
		}
	}
	return hit, nil
}

// printable replaces each byte outside printable ASCII with a blank.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = ' '
		}
	}
	return string(b)
}

// joinTXT joins TXT records with " / " within Postfix's limit.
func joinTXT(txt []string) string {
	var b strings.Builder
	left := txtLimit
	for i, t := range txt {
		if left <= 0 {
			break
		}
		if len(t) > left {
			t = t[:left]
		}
		b.WriteString(t)
		left = txtLimit - b.Len()
		if i+1 < len(txt) && left > 3 {
			b.WriteString(" / ")
			left -= 3
		}
	}
	return b.String()
}

// ReverseIP returns the DNS list name of a client address: the IPv4
// octets reversed ("2.0.0.127"), or the 32 nibbles of an IPv6 address
// reversed ("1.0.0.0.…​.8.b.d.0.1.0.0.2"). An IPv4-mapped address counts
// as IPv4.
func ReverseIP(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var s strings.Builder
	const hex = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		if s.Len() > 0 {
			s.WriteByte('.')
		}
		s.WriteByte(hex[b[i]&0xf])
		s.WriteByte('.')
		s.WriteByte(hex[b[i]>>4])
	}
	return s.String()
}

// RHSName returns the name a right-hand-side list is asked about for
// what (a host name, or an address whose domain counts), and false when
// Postfix skips the look-up: an address literal domain ("[1.2.3.4]"), an
// empty or malformed name, or one whose last label is all digits.
func RHSName(what string) (string, bool) {
	d := what
	if i := strings.LastIndexByte(what, '@'); i >= 0 {
		d = what[i+1:]
		if strings.HasPrefix(d, "[") {
			return "", false
		}
	}
	if d == "" {
		return "", false
	}
	if ok, _ := resolver.ValidHostname(d); !ok {
		return "", false
	}
	last := d[strings.LastIndexByte(d, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return "", false
	}
	return d, true
}
