package maptypes

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
)

// The "cidr" table type, as cidr_table(5) describes it. Each rule is
//
//	network/prefix result
//	address result
//	!network/prefix result
//	if network/prefix
//	endif
//
// for IPv4 and IPv6 (a pattern with ":" is IPv6; it may be written in
// [brackets]). A lookup key is one IP address; the first rule that matches
// wins. "!" inverts a rule: it then matches every address of the same
// family outside the network. Rules between IF and ENDIF are only tried
// when the IF pattern matches. A network with host bits set is reported
// and skipped. Lines are read as in the regexp table (comments with "#",
// continuation lines start with white space).

func init() {
	Register("cidr", func(name string, _ OpenFlags) (Table, error) {
		return OpenCIDR(name)
	})
}

// cidrRule is one parsed rule; for an IF rule value is unused.
type cidrRule struct {
	net   netip.Prefix
	want  bool
	value string
}

// cidrKey buckets positive match rules by family, length and network:
// the 16 address bytes (IPv4 in the first 4), the length and the family
// (6 for IPv6).
type cidrKey [18]byte

func makeCIDRKey(a netip.Addr, bits int) cidrKey {
	var k cidrKey
	if a.Is4() {
		b := a.As4()
		copy(k[:], b[:])
		k[16] = byte(bits)
	} else {
		b := a.As16()
		copy(k[:], b[:])
		k[16] = byte(bits)
		k[17] = 6
	}
	return k
}

// cidrTable is an open cidr table.
type cidrTable struct {
	prog    program
	rules   []cidrRule
	stack   blockStack
	buckets map[cidrKey][]int32
	lens4   []int // distinct prefix lengths of indexed IPv4 rules
	lens6   []int
	noIndex bool
	memos   sync.Pool // *ifMemo
}

// OpenCIDR reads a cidr table from the file path (or inline rules when
// path starts with "{"), reporting bad rules as
// warnings (they are skipped).
func OpenCIDR(path string) (Table, error) {
	lines, err := readPatternFile("cidr", path)
	if err != nil {
		return nil, err
	}
	return parseCIDRLines(path, lines, false), nil
}

// parseCIDRLines builds a table from logical lines; noIndex makes every
// lookup try all rules in order.
func parseCIDRLines(path string, lines []logicalLine, noIndex bool) *cidrTable {
	t := &cidrTable{buckets: map[cidrKey][]int32{}, noIndex: noIndex}
	w := patternWarner{kind: "cidr", path: path}
	for _, l := range lines {
		t.parseRule(w, l.line, l.text)
	}
	t.stack.finish(&t.prog, func(line int) { w.warn(line, "IF has no matching ENDIF") })
	seen := map[[2]byte]bool{}
	for k := range t.buckets {
		if seen[[2]byte{k[16], k[17]}] {
			continue
		}
		seen[[2]byte{k[16], k[17]}] = true
		if k[17] == 6 {
			t.lens6 = append(t.lens6, int(k[16]))
		} else {
			t.lens4 = append(t.lens4, int(k[16]))
		}
	}
	sort.Ints(t.lens4)
	sort.Ints(t.lens6)
	return t
}

// parseRule handles one logical line.
func (t *cidrTable) parseRule(w patternWarner, line int, p string) {
	if hasKeyword(p, "endif") {
		if skipSpace(p[5:]) != "" {
			w.warn(line, "garbage after ENDIF: skipping this rule")
			return
		}
		if len(t.stack.open) == 0 {
			w.warn(line, "ENDIF without IF: skipping this rule")
			return
		}
		t.stack.pop(&t.prog)
		return
	}
	isIf := hasKeyword(p, "if")
	if isIf {
		p = p[2:]
	}
	want := true
	for p != "" && (p[0] == '!' || isSpace(p[0])) {
		if p[0] == '!' {
			want = !want
		}
		p = p[1:]
	}
	if p == "" {
		w.warn(line, "no address pattern: skipping this rule")
		return
	}
	pattern, value := p, ""
	if !isIf {
		end := strings.IndexFunc(p, isSpaceRune)
		if end >= 0 {
			pattern, value = p[:end], skipSpace(p[end:])
		}
	}
	prefix, why := parseCIDRPattern(pattern)
	if why != "" {
		w.warn(line, "%s: skipping this rule", why)
		return
	}
	if isIf {
		i := t.prog.add(opIf, true)
		t.rules = append(t.rules, cidrRule{net: prefix, want: want})
		t.stack.push(i, line)
		return
	}
	if value == "" {
		w.warn(line, "no lookup result: skipping this rule")
		return
	}
	indexed := want && !t.noIndex
	i := t.prog.add(opMatch, !indexed)
	t.rules = append(t.rules, cidrRule{net: prefix, want: want, value: value})
	if indexed {
		k := makeCIDRKey(prefix.Addr(), prefix.Bits())
		t.buckets[k] = append(t.buckets[k], i)
	}
}

// parseCIDRPattern reads "addr", "addr/len", "[addr]/len" or "[addr/len]";
// why is Postfix's complaint when it is not valid.
func parseCIDRPattern(pattern string) (netip.Prefix, string) {
	if pattern[0] == '[' {
		end := strings.IndexByte(pattern, ']')
		if end < 0 {
			return netip.Prefix{}, fmt.Sprintf("missing ']' character after \"%s\"", pattern)
		}
		if rest := pattern[end+1:]; rest != "" && rest[0] != '/' {
			return netip.Prefix{}, fmt.Sprintf("garbage after \"%s\"", pattern[:end+1])
		}
		pattern = pattern[1:end] + pattern[end+1:]
	}
	addrText, maskText, hasMask := strings.Cut(pattern, "/")
	v6 := strings.IndexByte(addrText, ':') >= 0
	maxBits := 32
	if v6 {
		maxBits = 128
	}
	if hasMask {
		if maskText == "" || !allDigits(maskText) {
			return netip.Prefix{}, fmt.Sprintf("bad mask value in \"%s\"", pattern)
		}
		if clampAtoi(maskText) > maxBits {
			return netip.Prefix{}, fmt.Sprintf("bad mask length in \"%s\"", pattern)
		}
	}
	addr, ok := parseInetAddr(addrText)
	if !ok {
		if hasMask {
			return netip.Prefix{}, fmt.Sprintf("bad network value in \"%s\"", pattern)
		}
		return netip.Prefix{}, fmt.Sprintf("bad address pattern: \"%s\"", pattern)
	}
	bits := maxBits
	if hasMask {
		bits = clampAtoi(maskText)
	}
	prefix := netip.PrefixFrom(addr, bits)
	if masked := prefix.Masked(); masked.Addr() != addr {
		return netip.Prefix{}, fmt.Sprintf("non-null host address bits in \"%s\", perhaps you should use \"%s/%d\" instead",
			pattern, inetNtop(masked.Addr()), bits)
	}
	return prefix, ""
}

// parseInetAddr parses an address as inet_pton does: dotted quad without
// leading zeros for IPv4, RFC 4291 text without zone for IPv6 (decided by
// the presence of ':').
func parseInetAddr(s string) (netip.Addr, bool) {
	v6 := strings.IndexByte(s, ':') >= 0
	if strings.IndexByte(s, '%') >= 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is6() != v6 {
		return netip.Addr{}, false
	}
	return a, true
}

// inetNtop formats an address as the C library's inet_ntop does, which
// writes IPv4-compatible and IPv4-mapped IPv6 addresses with a dotted quad.
func inetNtop(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	b := a.As16()
	var words [8]int
	for i := range words {
		words[i] = int(b[2*i])<<8 | int(b[2*i+1])
	}
	// Longest run of zero words (the first one on a tie), at least 2.
	bestBase, bestLen := -1, 0
	for i := 0; i < 8; {
		if words[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && words[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestBase, bestLen = i, j-i
		}
		i = j
	}
	if bestLen < 2 {
		bestBase = -1
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if bestBase >= 0 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				sb.WriteByte(':')
			}
			continue
		}
		if i != 0 {
			sb.WriteByte(':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || bestLen == 5 && words[5] == 0xffff) {
			fmt.Fprintf(&sb, "%d.%d.%d.%d", b[12], b[13], b[14], b[15])
			break
		}
		fmt.Fprintf(&sb, "%x", words[i])
	}
	if bestBase >= 0 && bestBase+bestLen == 8 {
		sb.WriteByte(':')
	}
	return sb.String()
}

// Lookup returns the result of the first rule that matches the address key.
func (t *cidrTable) Lookup(key string) (string, bool, error) {
	addr, ok := parseInetAddr(key)
	if !ok {
		return "", false, nil
	}
	var buf [64]int32
	cands := buf[:0]
	lens := t.lens4
	if addr.Is6() {
		lens = t.lens6
	}
	for _, bits := range lens {
		p, _ := addr.Prefix(bits)
		cands = append(cands, t.buckets[makeCIDRKey(p.Addr(), bits)]...)
	}
	cands = sortUnique(cands)
	memo, _ := t.memos.Get().(*ifMemo)
	if memo == nil {
		memo = &ifMemo{}
	}
	defer t.memos.Put(memo)
	i := t.prog.run(cands, memo, func(i int32) bool {
		r := &t.rules[i]
		if r.net.Addr().Is6() != addr.Is6() {
			return false
		}
		return r.net.Contains(addr) == r.want
	})
	if i < 0 {
		return "", false, nil
	}
	return t.rules[i].value, true, nil
}

// Close releases nothing: the table lives in memory.
func (t *cidrTable) Close() error { return nil }
