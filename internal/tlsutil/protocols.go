package tlsutil

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
)

// Protocols is the set of TLS versions a protocol list allows, in
// crypto/tls terms (tls.VersionTLS10 … tls.VersionTLS13), ascending; it
// is empty when the list leaves no version Go can speak. The set need not
// be a range: like OpenSSL's server, ours then agrees to the highest
// version that both sides allow.
type Protocols struct {
	Versions []uint16
}

// Min and Max are the lowest and highest allowed versions (0 when none).
func (p Protocols) Min() uint16 {
	if len(p.Versions) == 0 {
		return 0
	}
	return p.Versions[0]
}

// Max is the highest allowed version (0 when none).
func (p Protocols) Max() uint16 {
	if len(p.Versions) == 0 {
		return 0
	}
	return p.Versions[len(p.Versions)-1]
}

// Allows reports whether version v is in the set.
func (p Protocols) Allows(v uint16) bool {
	for _, x := range p.Versions {
		if x == v {
			return true
		}
	}
	return false
}

// contiguous reports whether the set is a range that Min/Max express.
func (p Protocols) contiguous() bool {
	return len(p.Versions) == 0 || int(p.Max()-p.Min()) == len(p.Versions)-1
}

// String lists the versions by Postfix's names.
func (p Protocols) String() string {
	names := make([]string, len(p.Versions))
	for i, v := range p.Versions {
		names[i] = VersionName(v)
	}
	return strings.Join(names, " ")
}

// protoNames maps Postfix's protocol names to their wire versions.
var protoNames = []struct {
	name string
	ver  uint16
}{
	{"SSLv2", 0x0002},
	{"SSLv3", 0x0300},
	{"TLSv1", tls.VersionTLS10},
	{"TLSv1.1", tls.VersionTLS11},
	{"TLSv1.2", tls.VersionTLS12},
	{"TLSv1.3", tls.VersionTLS13},
}

func protoByName(name string) (uint16, bool) {
	for _, p := range protoNames {
		if p.name == name {
			return p.ver, true
		}
	}
	return 0, false
}

// protoBound parses the version after ">=" or "<=": a protocol name or a
// hexadecimal number ("0303", "0x303", "303").
func protoBound(s string) (uint16, bool) {
	if v, ok := protoByName(s); ok {
		return v, true
	}
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if h == "" || len(h) > 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(h, 16, 16)
	if err != nil {
		return 0, false
	}
	return uint16(n), true
}

// ParseProtocols interprets a Postfix protocol list (smtpd_tls_protocols,
// smtpd_tls_mandatory_protocols): names to include, "!name" to exclude,
// ">=version" and "<=version" bounds, separated by white space, commas or
// colons. An empty list allows every version. An unknown
// word makes the whole list invalid: the returned *Error carries Postfix's
// warning, after which Postfix's smtpd offers no TLS.
func ParseProtocols(list string) (Protocols, error) {
	var include, exclude [6]bool
	anyInclude := false
	floor, ceiling := uint16(0), uint16(0xffff)
	for _, tok := range strings.FieldsFunc(list, isProtoSep) {
		switch {
		case strings.HasPrefix(tok, "!"):
			v, ok := protoByName(tok[1:])
			if !ok {
				return Protocols{}, invalidProtocols(list)
			}
			exclude[protoIndex(v)] = true
		case strings.HasPrefix(tok, ">="):
			v, ok := protoBound(tok[2:])
			if !ok {
				return Protocols{}, invalidProtocols(list)
			}
			floor = v
		case strings.HasPrefix(tok, "<="):
			v, ok := protoBound(tok[2:])
			if !ok {
				return Protocols{}, invalidProtocols(list)
			}
			ceiling = v
		default:
			v, ok := protoByName(tok)
			if !ok {
				return Protocols{}, invalidProtocols(list)
			}
			include[protoIndex(v)] = true
			anyInclude = true
		}
	}
	var out Protocols
	for i, p := range protoNames {
		on := !exclude[i] && (!anyInclude || include[i])
		if on && p.ver >= floor && p.ver <= ceiling && p.ver >= tls.VersionTLS10 {
			out.Versions = append(out.Versions, p.ver)
		}
	}
	return out, nil
}

func protoIndex(v uint16) int {
	for i, p := range protoNames {
		if p.ver == v {
			return i
		}
	}
	return 0
}

func isProtoSep(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == ':'
}

func invalidProtocols(list string) error {
	return warnErr("Invalid TLS protocol list \"%s\": disabling TLS support", list)
}

// VersionName returns the name Postfix logs for a TLS version ("TLSv1.3").
func VersionName(v uint16) string {
	for _, p := range protoNames {
		if p.ver == v {
			return p.name
		}
	}
	return fmt.Sprintf("0x%04x", v)
}
