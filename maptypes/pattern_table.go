package maptypes

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// This file holds the table that the regexp and pcre types share once their
// patterns are compiled to Go regular expressions: rule storage, the
// literal prefilter and the lookup.

// rePattern is one compiled pattern of a rule with its sense ("!/re/"
// fires when re does not match) and its prefilter literals (nil: none).
type rePattern struct {
	re   *regexp.Regexp
	want bool
	lits []int32
}

// reRule is a match rule (first, optional second pattern, replacement) or
// an IF rule (first only).
type reRule struct {
	first, second *rePattern
	repl          replacement
}

// reTable is an open regexp or pcre table.
type reTable struct {
	prog     program
	rules    []reRule
	idx      litIndex
	litRules [][]int32 // literal id -> match rules that need it
	pool     scratchPool
	stack    blockStack
	noIndex  bool // tests: try every rule, as Postfix does
}

// newPattern wraps a compiled expression; tree is its parsed form, used
// to find prefilter literals.
func (t *reTable) newPattern(re *regexp.Regexp, tree *syntax.Regexp, want bool) *rePattern {
	p := &rePattern{re: re, want: want}
	if t.noIndex || tree == nil {
		return p
	}
	if lits, ok := reqLits(tree); ok {
		for _, l := range lits {
			p.lits = append(p.lits, t.idx.intern(l))
		}
	}
	return p
}

// addMatch appends a match rule.
func (t *reTable) addMatch(first, second *rePattern, repl replacement) {
	indexed := first.want && first.lits != nil
	i := t.prog.add(opMatch, !indexed)
	t.rules = append(t.rules, reRule{first: first, second: second, repl: repl})
	if indexed {
		for _, id := range first.lits {
			for int(id) >= len(t.litRules) {
				t.litRules = append(t.litRules, nil)
			}
			t.litRules[id] = append(t.litRules[id], i)
		}
	}
}

// addIf opens an IF block.
func (t *reTable) addIf(p *rePattern, line int) {
	i := t.prog.add(opIf, true)
	t.rules = append(t.rules, reRule{first: p})
	t.stack.push(i, line)
}

// finish builds the index after the last rule.
func (t *reTable) finish(w patternWarner) {
	t.stack.finish(&t.prog, func(line int) { w.warn(line, "IF has no matching ENDIF") })
	for len(t.litRules) < len(t.idx.lits) {
		t.litRules = append(t.litRules, nil)
	}
	for i := range t.litRules {
		t.litRules[i] = sortUnique(t.litRules[i])
	}
	t.idx.build()
	t.pool.n = len(t.idx.lits)
}

// matches reports whether p fires for key (honouring "!").
func (p *rePattern) matches(key string, s *lookupScratch) bool {
	m := false
	if p.lits == nil || s.anyHit(p.lits) {
		m = p.re.MatchString(key)
	}
	return m == p.want
}

// Lookup returns the replacement of the first rule that fires for key.
func (t *reTable) Lookup(key string) (string, bool, error) {
	s := t.pool.get()
	defer t.pool.put(s)
	s.next()
	if len(t.idx.lits) > 0 {
		s.folded = foldKey(s.folded, key)
		t.idx.scan(s.folded, func(id int32) {
			if s.seen[id] != s.gen {
				s.seen[id] = s.gen
				s.cands = append(s.cands, t.litRules[id]...)
			}
		})
	}
	cands := sortUnique(s.cands)
	i := t.prog.run(cands, &s.ifs, func(i int32) bool {
		r := &t.rules[i]
		if !r.first.matches(key, s) {
			return false
		}
		return r.second == nil || r.second.matches(key, s)
	})
	if i < 0 {
		return "", false, nil
	}
	r := &t.rules[i]
	if r.repl.parts == nil {
		return r.repl.text, true, nil
	}
	s.groups = r.first.re.FindStringSubmatchIndex(key)
	return r.repl.expand(key, s.groups), true, nil
}

// Close releases nothing: the table lives in memory.
func (t *reTable) Close() error { return nil }

// patSyntax describes how one table type reads "/pattern/flags".
type patSyntax struct {
	noCloseAction  string // "skipping" (regexp) or "ignoring" (pcre)
	flagStopsAtNot bool   // regexp: '!' ends the flags (a second pattern follows)
}

// rawPattern is a pattern as written: its text between the delimiters,
// sense and flag letters.
type rawPattern struct {
	text  string
	want  bool
	flags string
}

// getPattern reads one "[!...]/pattern/flags" from *p. It reports a
// missing pattern or closing delimiter and returns false.
func getPattern(w patternWarner, line int, p *string, syn patSyntax) (rawPattern, bool) {
	s := *p
	rp := rawPattern{want: true}
	i := 0
	for i < len(s) && (s[i] == '!' || isSpace(s[i])) {
		if s[i] == '!' {
			rp.want = !rp.want
		}
		i++
	}
	if i == len(s) {
		w.warn(line, "no regexp: skipping this rule")
		return rp, false
	}
	delim := s[i]
	i++
	start := i
	for i < len(s) {
		if s[i] == '\\' {
			if i+1 < len(s) {
				i += 2
				continue
			}
			i = len(s)
			break
		}
		if s[i] == delim {
			break
		}
		i++
	}
	if i >= len(s) {
		w.warn(line, "no closing regexp delimiter \"%s\": %s this rule", s[start-1:start], syn.noCloseAction)
		return rp, false
	}
	rp.text = s[start:i]
	i++
	j := i
	for j < len(s) && !isSpace(s[j]) && !(syn.flagStopsAtNot && s[j] == '!') {
		j++
	}
	rp.flags = s[i:j]
	*p = s[j:]
	return rp, true
}

// skipSpace drops leading C-locale white space.
func skipSpace(s string) string {
	return strings.TrimLeftFunc(s, isSpaceRune)
}

// hasKeyword reports whether s starts with word (any case) not followed by
// a letter or digit.
func hasKeyword(s, word string) bool {
	return len(s) >= len(word) && strings.EqualFold(s[:len(word)], word) &&
		(len(s) == len(word) || !isAlnum(s[len(word)]))
}
