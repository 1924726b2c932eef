package maptypes

import "sort"

// This file holds the first-match engine shared by the regexp, pcre and
// cidr tables. A table is a list of rules in file order: match rules and
// IF rules (an IF rule owns the rules up to its ENDIF). Postfix tries every
// rule in order; we get the same answer while looking at far fewer rules:
// an index (literal prefilter or address trie) names the candidate rules
// that can possibly fire for a key, and a small "always" list holds the
// rules that the index cannot rule out (IF rules, negated patterns,
// patterns without a usable literal). Both lists are walked merged, in rule
// order, so the first rule that fires is the one Postfix would pick.

// ruleOp tells a match rule from an IF rule.
type ruleOp uint8

const (
	opMatch ruleOp = iota
	opIf
)

// progRule is one rule's place in the program.
type progRule struct {
	op     ruleOp
	parent int32 // innermost enclosing IF rule, or -1
}

// program is the rule order plus the list of always-evaluated rules. IF
// rules are not in that list: they are evaluated on demand, when a rule
// inside their block is about to be tried, and remembered for the rest
// of the lookup.
type program struct {
	rules  []progRule
	always []int32
	open   []int32 // IF rules open while the table is read
}

// add appends a rule and returns its index. always says the index cannot
// rule it out.
func (p *program) add(op ruleOp, always bool) int32 {
	i := int32(len(p.rules))
	parent := int32(-1)
	if n := len(p.open); n > 0 {
		parent = p.open[n-1]
	}
	p.rules = append(p.rules, progRule{op: op, parent: parent})
	if always && op == opMatch {
		p.always = append(p.always, i)
	}
	if op == opIf {
		p.open = append(p.open, i)
	}
	return i
}

// blockStack tracks the source lines of open IF rules while a table is
// parsed.
type blockStack struct {
	open  []int32 // rule indices of open IFs
	lines []int   // their source lines
}

func (b *blockStack) push(rule int32, line int) {
	b.open = append(b.open, rule)
	b.lines = append(b.lines, line)
}

// pop closes the innermost IF; its block ends before the next rule.
func (b *blockStack) pop(p *program) {
	n := len(b.open) - 1
	b.open, b.lines = b.open[:n], b.lines[:n]
	p.open = p.open[:len(p.open)-1]
}

// finish closes every IF left open at the end of the file, innermost
// first, calling report with each one's line.
func (b *blockStack) finish(p *program, report func(line int)) {
	for len(b.open) > 0 {
		report(b.lines[len(b.lines)-1])
		b.pop(p)
	}
}

// ifMemo remembers IF results during one lookup.
type ifMemo struct {
	gen []uint32
	val []bool
	cur uint32
}

func (m *ifMemo) reset(n int) {
	if len(m.gen) < n {
		m.gen = make([]uint32, n)
		m.val = make([]bool, n)
	}
	m.cur++
	if m.cur == 0 {
		clear(m.gen)
		m.cur = 1
	}
}

// run returns the first match rule that fires, or -1. cands must be sorted
// and free of duplicates. test evaluates one rule: for a match rule whether
// it fires, for an IF rule whether its condition holds. A rule is only
// tried when every enclosing IF holds, which gives the same answer as
// trying IF rules in order and skipping the blocks of those that fail.
func (p *program) run(cands []int32, memo *ifMemo, test func(i int32) bool) int32 {
	memo.reset(len(p.rules))
	var enabled func(i int32) bool
	enabled = func(i int32) bool {
		if i < 0 {
			return true
		}
		if memo.gen[i] == memo.cur {
			return memo.val[i]
		}
		v := enabled(p.rules[i].parent) && test(i)
		memo.gen[i], memo.val[i] = memo.cur, v
		return v
	}
	a, c := p.always, cands
	for len(a) > 0 || len(c) > 0 {
		var i int32
		if len(c) == 0 || (len(a) > 0 && a[0] <= c[0]) {
			i, a = a[0], a[1:]
			if len(c) > 0 && c[0] == i {
				c = c[1:]
			}
		} else {
			i, c = c[0], c[1:]
		}
		if enabled(p.rules[i].parent) && test(i) {
			return i
		}
	}
	return -1
}

// sortUnique sorts s and drops duplicates in place.
func sortUnique(s []int32) []int32 {
	if len(s) < 2 {
		return s
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}
