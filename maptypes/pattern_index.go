package maptypes

import (
	"regexp/syntax"
	"sync"
	"unicode/utf8"
)

// This file holds the literal prefilter of the regexp and pcre tables. For
// every pattern we derive a small set of literal strings, one of which must
// occur (after ASCII case folding) in every string the pattern matches. All
// literals of a table go into one Aho-Corasick automaton, so a lookup scans
// the folded key once and learns which patterns can possibly match. A
// pattern without such a set is always tried.

// maxLitSet bounds the size of one pattern's literal set.
const maxLitSet = 32

// reqLits returns literals (folded to lower case) one of which every match
// of re contains, or ok=false when there is no usable set.
func reqLits(re *syntax.Regexp) (lits []string, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s, exact := literalText(re)
		if exact && s != "" {
			return []string{s}, true
		}
		// Use the longest ASCII run of a literal with other characters.
		best := ""
		start := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] >= 0x80 {
				if i-start > len(best) {
					best = s[start:i]
				}
				start = i + 1
			}
		}
		if best == "" {
			return nil, false
		}
		return []string{best}, true
	case syntax.OpCharClass:
		if c, ok := classChar(re); ok {
			return []string{string(c)}, true
		}
		return nil, false
	case syntax.OpCapture:
		return reqLits(re.Sub[0])
	case syntax.OpPlus:
		return reqLits(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reqLits(re.Sub[0])
		}
		return nil, false
	case syntax.OpAlternate:
		var all []string
		for _, sub := range re.Sub {
			l, ok := reqLits(sub)
			if !ok {
				return nil, false
			}
			all = append(all, l...)
			if len(all) > maxLitSet {
				return nil, false
			}
		}
		return all, true
	case syntax.OpConcat:
		var best []string
		consider := func(l []string) {
			if betterLits(l, best) {
				best = l
			}
		}
		run := []byte{}
		for _, sub := range re.Sub {
			if s, ok := exactText(sub); ok {
				run = append(run, s...)
				continue
			}
			if len(run) > 0 {
				consider([]string{string(run)})
				run = []byte{}
			}
			if l, ok := reqLits(sub); ok {
				consider(l)
			}
		}
		if len(run) > 0 {
			consider([]string{string(run)})
		}
		return best, best != nil
	}
	return nil, false
}

// betterLits prefers the set whose shortest literal is longer.
func betterLits(a, b []string) bool {
	if a == nil {
		return false
	}
	if b == nil {
		return true
	}
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minLen(l []string) int {
	m := -1
	for _, s := range l {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}

// exactText returns the folded text of a node that matches exactly one
// ASCII string (up to ASCII case).
func exactText(re *syntax.Regexp) (string, bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s, exact := literalText(re)
		return s, exact && s != ""
	case syntax.OpCharClass:
		if c, ok := classChar(re); ok {
			return string(c), true
		}
	}
	return "", false
}

// literalText folds a literal node; exact is false when it holds
// characters other than ASCII.
func literalText(re *syntax.Regexp) (string, bool) {
	b := make([]byte, 0, len(re.Rune))
	exact := true
	for _, r := range re.Rune {
		if r >= 0x80 {
			exact = false
			b = utf8.AppendRune(b, r)
			continue
		}
		b = append(b, foldByte(byte(r)))
	}
	return string(b), exact
}

// classChar recognizes a class that is one ASCII character or one ASCII
// letter in both cases.
func classChar(re *syntax.Regexp) (byte, bool) {
	r := re.Rune
	switch {
	case len(r) == 2 && r[0] == r[1] && r[0] < 0x80:
		return foldByte(byte(r[0])), true
	case len(r) == 4 && r[0] == r[1] && r[2] == r[3] && r[0] < 0x80 && r[2] < 0x80 &&
		foldByte(byte(r[0])) == foldByte(byte(r[2])):
		return foldByte(byte(r[0])), true
	}
	return 0, false
}

func foldByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldKey lowers ASCII letters of key into buf. The two non-ASCII
// characters that case-fold to ASCII letters (KELVIN SIGN and LATIN SMALL
// LETTER LONG S) become "k" and "s", so a case-insensitive pattern that
// matches them still finds its literal.
func foldKey(buf []byte, key string) []byte {
	buf = buf[:0]
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c < 0x80:
			buf = append(buf, foldByte(c))
		case c == 0xE2 && i+2 < len(key) && key[i+1] == 0x84 && key[i+2] == 0xAA:
			buf = append(buf, 'k')
			i += 2
		case c == 0xC5 && i+1 < len(key) && key[i+1] == 0xBF:
			buf = append(buf, 's')
			i++
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// litIndex is an Aho-Corasick automaton over the literals of one table.
type litIndex struct {
	ids     map[string]int32
	lits    []string
	class   [256]uint8
	nclass  int
	delta   []int32 // state*nclass + class -> state
	out     [][]int32
	outLink []int32 // nearest proper suffix state with output, or -1
}

// intern returns the id of literal s, adding it when new.
func (x *litIndex) intern(s string) int32 {
	if x.ids == nil {
		x.ids = map[string]int32{}
	}
	if id, ok := x.ids[s]; ok {
		return id
	}
	id := int32(len(x.lits))
	x.ids[s] = id
	x.lits = append(x.lits, s)
	return id
}

// build compiles the automaton once every literal is interned.
func (x *litIndex) build() {
	x.nclass = 1
	for _, s := range x.lits {
		for i := 0; i < len(s); i++ {
			if x.class[s[i]] == 0 {
				x.class[s[i]] = uint8(x.nclass)
				x.nclass++
			}
		}
	}
	if x.nclass > 255 {
		// Too many distinct bytes for uint8 classes: give up on the
		// prefilter's compression by using the identity mapping.
		for i := range x.class {
			x.class[i] = uint8(i)
		}
		x.nclass = 256
	}
	nc := x.nclass
	// Trie.
	x.delta = make([]int32, nc)
	for i := range x.delta {
		x.delta[i] = -1
	}
	x.out = [][]int32{nil}
	for id, s := range x.lits {
		st := int32(0)
		for i := 0; i < len(s); i++ {
			c := int(x.class[s[i]])
			nx := x.delta[int(st)*nc+c]
			if nx < 0 {
				nx = int32(len(x.out))
				x.out = append(x.out, nil)
				for k := 0; k < nc; k++ {
					x.delta = append(x.delta, -1)
				}
				x.delta[int(st)*nc+c] = nx
			}
			st = nx
		}
		x.out[st] = append(x.out[st], int32(id))
	}
	// Failure links, breadth first, turning the trie into a DFA.
	n := len(x.out)
	fail := make([]int32, n)
	x.outLink = make([]int32, n)
	x.outLink[0] = -1
	queue := make([]int32, 0, n)
	for c := 0; c < nc; c++ {
		nx := x.delta[c]
		if nx < 0 {
			x.delta[c] = 0
			continue
		}
		fail[nx] = 0
		x.outLink[nx] = -1
		queue = append(queue, nx)
	}
	for len(queue) > 0 {
		st := queue[0]
		queue = queue[1:]
		for c := 0; c < nc; c++ {
			nx := x.delta[int(st)*nc+c]
			if nx < 0 {
				x.delta[int(st)*nc+c] = x.delta[int(fail[st])*nc+c]
				continue
			}
			f := x.delta[int(fail[st])*nc+c]
			fail[nx] = f
			if len(x.out[f]) > 0 {
				x.outLink[nx] = f
			} else {
				x.outLink[nx] = x.outLink[f]
			}
			queue = append(queue, nx)
		}
	}
}

// scan feeds folded text through the automaton and calls hit for every
// literal occurrence (a literal may be reported more than once).
func (x *litIndex) scan(text []byte, hit func(id int32)) {
	if len(x.lits) == 0 {
		return
	}
	nc := x.nclass
	st := int32(0)
	for _, b := range text {
		st = x.delta[int(st)*nc+int(x.class[b])]
		o := st
		if len(x.out[o]) == 0 {
			o = x.outLink[o]
		}
		for o > 0 {
			for _, id := range x.out[o] {
				hit(id)
			}
			o = x.outLink[o]
		}
	}
}

// lookupScratch is per-lookup working memory, pooled per table.
type lookupScratch struct {
	folded []byte
	seen   []uint32 // literal id -> generation when last seen
	gen    uint32
	cands  []int32
	groups []int
	ifs    ifMemo
}

// scratchPool hands out lookupScratch values sized for one table.
type scratchPool struct {
	pool sync.Pool
	n    int
}

func (p *scratchPool) get() *lookupScratch {
	if s, ok := p.pool.Get().(*lookupScratch); ok {
		return s
	}
	return &lookupScratch{seen: make([]uint32, p.n)}
}

func (p *scratchPool) put(s *lookupScratch) { p.pool.Put(s) }

// next starts a new lookup: previous hits are forgotten.
func (s *lookupScratch) next() {
	s.gen++
	if s.gen == 0 {
		clear(s.seen)
		s.gen = 1
	}
	s.cands = s.cands[:0]
}

// anyHit reports whether one of ids occurred in the current key.
func (s *lookupScratch) anyHit(ids []int32) bool {
	for _, id := range ids {
		if s.seen[id] == s.gen {
			return true
		}
	}
	return false
}
