package maptypes

import (
	"errors"
	"regexp"
	"regexp/syntax"
)

// The "regexp" table type, as regexp_table(5) describes it. Each rule is
//
//	/pattern/flags result
//	/pattern1/flags!/pattern2/flags result
//	!/pattern/flags result
//	if /pattern/flags
//	endif
//
// Patterns are POSIX extended regular expressions, matched leftmost-longest
// and case-insensitively by default. Flags toggle: "i" case sensitivity,
// "m" multi-line mode, "x" extended syntax (off means basic regular
// expressions). Any character may delimit a pattern. The result may use
// $1...$9 (also ${n} and $(n)) for parenthesized subexpressions and $$ for
// a dollar sign. The first rule that matches wins; rules between IF and
// ENDIF are only tried when the IF pattern matches (or, with "!", does
// not). A source line that starts with white space continues the previous
// one; "#" starts a comment line. A name that starts with "{" holds the
// rules inline (see pattern_inline.go). An escaped lower-case letter
// ("\\r") matches nothing unless the "i" flag makes the pattern
// case-sensitive, as with the C library's regcomp.

func init() {
	Register("regexp", func(name string, _ OpenFlags) (Table, error) {
		return OpenRegexp(name)
	})
}

// OpenRegexp reads a regexp table from the file path (or inline rules
// when path starts with "{"), reporting bad rules
// as warnings (they are skipped).
func OpenRegexp(path string) (Table, error) {
	lines, err := readPatternFile("regexp", path)
	if err != nil {
		return nil, err
	}
	return parseRegexpLines(path, lines, false), nil
}

// parseRegexpLines builds a table from logical lines; noIndex disables
// the prefilter (tests compare both).
func parseRegexpLines(path string, lines []logicalLine, noIndex bool) *reTable {
	t := &reTable{noIndex: noIndex}
	w := patternWarner{kind: "regexp", path: path}
	for _, l := range lines {
		parseRegexpRule(t, w, l.line, l.text)
	}
	t.finish(w)
	return t
}

var regexpSyntax = patSyntax{noCloseAction: "skipping", flagStopsAtNot: true}

var regexpRepl = replSyntax{lowIndex: "out-of-range replacement index"}

// parseRegexpRule handles one logical line.
func parseRegexpRule(t *reTable, w patternWarner, line int, p string) {
	switch {
	case p != "" && !isAlnum(p[0]):
		raw1, ok := getPattern(w, line, &p, regexpSyntax)
		if !ok {
			return
		}
		opt1, ok := regexpFlags(w, line, raw1.flags)
		if !ok {
			return
		}
		var raw2 rawPattern
		var opt2 posixOpts
		second := false
		if p != "" && p[0] == '!' {
			if raw2, ok = getPattern(w, line, &p, regexpSyntax); !ok {
				return
			}
			if opt2, ok = regexpFlags(w, line, raw2.flags); !ok {
				return
			}
			second = true
		}
		p = skipSpace(p)
		if p == "" {
			w.warn(line, "no replacement text: using empty string")
		}
		repl, ok := parseReplacement(w, line, p, regexpRepl)
		if !ok {
			w.warn(line, "bad replacement syntax: skipping this rule")
			return
		}
		if repl.maxSub > 0 && !raw1.want {
			w.warn(line, "$number found in negative match replacement text: skipping this rule")
			return
		}
		re1, tree1, nsub, ok := compileRegexp(w, line, raw1.text, opt1)
		if !ok {
			return
		}
		if repl.maxSub > uint64(nsub) {
			w.warn(line, "out of range replacement index \"%d\": skipping this rule", int32(repl.maxSub))
			return
		}
		var pat2 *rePattern
		if second {
			re2, tree2, _, ok := compileRegexp(w, line, raw2.text, opt2)
			if !ok {
				return
			}
			pat2 = t.newPattern(re2, tree2, raw2.want)
		}
		t.addMatch(t.newPattern(re1, tree1, raw1.want), pat2, repl)
	case hasKeyword(p, "if"):
		p = skipSpace(p[2:])
		raw, ok := getPattern(w, line, &p, regexpSyntax)
		if !ok {
			return
		}
		opt, ok := regexpFlags(w, line, raw.flags)
		if !ok {
			return
		}
		if p = skipSpace(p); p != "" {
			w.warn(line, "ignoring extra text after IF statement: \"%s\"", p)
			w.warn(line, "do not prepend whitespace to statements between IF and ENDIF")
		}
		re, tree, _, ok := compileRegexp(w, line, raw.text, opt)
		if !ok {
			return
		}
		t.addIf(t.newPattern(re, tree, raw.want), line)
	case hasKeyword(p, "endif"):
		if len(t.stack.open) == 0 {
			w.warn(line, "ignoring ENDIF without matching IF")
			return
		}
		if skipSpace(p[5:]) != "" {
			w.warn(line, "ignoring extra text after ENDIF")
		}
		t.stack.pop(&t.prog)
	default:
		w.warn(line, "ignoring unrecognized request")
	}
}

// regexpFlags applies the flag letters after a pattern.
func regexpFlags(w patternWarner, line int, flags string) (posixOpts, bool) {
	o := posixOpts{extended: true, icase: true}
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case 'i':
			o.icase = !o.icase
		case 'm':
			o.newline = !o.newline
		case 'x':
			o.extended = !o.extended
		default:
			w.warn(line, "unknown regexp option \"%s\": skipping this rule", flags[i:i+1])
			return o, false
		}
	}
	return o, true
}

// compileRegexp translates and compiles one POSIX pattern.
func compileRegexp(w patternWarner, line int, pattern string, o posixOpts) (*regexp.Regexp, *syntax.Regexp, int, bool) {
	goRE, nsub, err := translatePOSIX(pattern, o)
	if err == nil {
		var re *regexp.Regexp
		if re, err = regexp.Compile(goRE); err == nil {
			re.Longest()
			tree, perr := syntax.Parse(goRE, syntax.Perl)
			if perr != nil {
				tree = nil
			}
			return re, tree, nsub, true
		}
		err = unsupportedError("pattern too large or complex for this engine")
	}
	var unsup unsupportedError
	if errors.As(err, &unsup) {
		w.warn(line, "%s: skipping this rule", err)
	} else {
		w.warn(line, "%s", err)
	}
	return nil, nil, 0, false
}
