package maptypes

import (
	"errors"
	"regexp"
	"regexp/syntax"
)

// The "pcre" table type, as pcre_table(5) describes it. Each rule is
//
//	/pattern/flags result
//	!/pattern/flags result
//	if /pattern/flags
//	endif
//
// Patterns use Perl-compatible syntax and are case-insensitive by default.
// Flags: "i" toggles case sensitivity, "m" multi-line mode, "s" lets "."
// match a newline, "x" extended syntax (white space and # comments
// ignored), "A" anchors at the start, "E" makes "$" match only at the very
// end, "U" makes quantifiers ungreedy; "X" is obsolete and ignored with a
// warning. The result may use $1...$9 (also ${n}, $(n)) and $$. Matching
// uses Go's linear-time engine: a rule that needs backtracking features
// (look-around, back-references, atomic groups, possessive quantifiers,
// recursion) is reported with its file and line and skipped. Otherwise the
// table reads like a regexp table (see regexp_table.go).

func init() {
	Register("pcre", func(name string, _ OpenFlags) (Table, error) {
		return OpenPCRE(name)
	})
}

// OpenPCRE reads a pcre table from the file path (or inline rules when
// path starts with "{"), reporting bad rules as
// warnings (they are skipped).
func OpenPCRE(path string) (Table, error) {
	lines, err := readPatternFile("pcre", path)
	if err != nil {
		return nil, err
	}
	return parsePCRELines(path, lines, false), nil
}

// parsePCRELines builds a table from logical lines; noIndex disables the
// prefilter (tests compare both).
func parsePCRELines(path string, lines []logicalLine, noIndex bool) *reTable {
	t := &reTable{noIndex: noIndex}
	w := patternWarner{kind: "pcre", path: path}
	for _, l := range lines {
		parsePCRERule(t, w, l.line, l.text)
	}
	t.finish(w)
	return t
}

var pcreSyntax = patSyntax{noCloseAction: "ignoring"}

var pcreRepl = replSyntax{lowIndex: "out of range replacement index"}

// parsePCRERule handles one logical line.
func parsePCRERule(t *reTable, w patternWarner, line int, p string) {
	switch {
	case p != "" && !isAlnum(p[0]):
		raw, ok := getPattern(w, line, &p, pcreSyntax)
		if !ok {
			return
		}
		opts, ok := pcreFlags(w, line, raw.flags)
		if !ok {
			return
		}
		p = skipSpace(p)
		if p == "" {
			w.warn(line, "no replacement text: using empty string")
		}
		repl, ok := parseReplacement(w, line, p, pcreRepl)
		if !ok {
			w.warn(line, "bad replacement syntax: skipping this rule")
			return
		}
		if repl.maxSub > 0 && !raw.want {
			w.warn(line, "$number found in negative match replacement text: skipping this rule")
			return
		}
		re, tree, nsub, ok := compilePCRE(w, line, raw.text, opts)
		if !ok {
			return
		}
		if repl.maxSub > uint64(nsub) {
			w.warn(line, "out of range replacement index \"%d\": skipping this rule", int32(repl.maxSub))
			return
		}
		t.addMatch(t.newPattern(re, tree, raw.want), nil, repl)
	case hasKeyword(p, "if"):
		p = skipSpace(p[2:])
		raw, ok := getPattern(w, line, &p, pcreSyntax)
		if !ok {
			return
		}
		opts, ok := pcreFlags(w, line, raw.flags)
		if !ok {
			return
		}
		if p = skipSpace(p); p != "" {
			w.warn(line, "ignoring extra text after IF statement: \"%s\"", p)
			w.warn(line, "do not prepend whitespace to statements between IF and ENDIF")
		}
		re, tree, _, ok := compilePCRE(w, line, raw.text, opts)
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

// pcreFlags applies the flag letters after a pattern.
func pcreFlags(w patternWarner, line int, flags string) (pcreOpts, bool) {
	o := pcreOpts{caseless: true}
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case 'i':
			o.caseless = !o.caseless
		case 'm':
			o.multiline = !o.multiline
		case 's':
			o.dotall = !o.dotall
		case 'x':
			o.extended = !o.extended
		case 'A':
			o.anchored = !o.anchored
		case 'E':
			// "$" matches only at the very end: Go's "$" already does.
		case 'U':
			o.ungreedy = !o.ungreedy
		case 'X':
			w.warn(line, "ignoring obsolete regexp option \"X\"")
		default:
			w.warn(line, "unknown regexp option \"%s\": skipping this rule", flags[i:i+1])
			return o, false
		}
	}
	return o, true
}

// compilePCRE translates and compiles one PCRE pattern.
func compilePCRE(w patternWarner, line int, pattern string, o pcreOpts) (*regexp.Regexp, *syntax.Regexp, int, bool) {
	goRE, nsub, err := translatePCRE(pattern, o)
	if err == nil {
		var re *regexp.Regexp
		if re, err = regexp.Compile(goRE); err == nil {
			tree, perr := syntax.Parse(goRE, syntax.Perl)
			if perr != nil {
				tree = nil
			}
			return re, tree, nsub, true
		}
		err = unsupportedError("construct not available in this engine")
	}
	var unsup unsupportedError
	if errors.As(err, &unsup) {
		w.warn(line, "%s: skipping this rule", err)
	} else {
		w.warn(line, "%s", err)
	}
	return nil, nil, 0, false
}
