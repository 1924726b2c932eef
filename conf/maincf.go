// Package conf reads Postfix's configuration as Postfix 3.7 does: main.cf
// (logical lines, "name = value", lazy $name expansion with the 3.x
// conditional and relational forms), master.cf (services and their -o
// overrides), the built-in parameter registry with its computed defaults,
// and the per-service view of main.cf that a daemon sees.
//
// main.cf syntax: blank lines, white-space-only lines and lines whose first
// non-white character is '#' are ignored; a line that starts with white space
// continues the logical line before it; each logical line is "name = value"
// with white space around '=' and at the end ignored. A later entry for the
// same name overrides an earlier one with a warning.
package conf

import (
	"bytes"
	"fmt"
	"os"
)

// MainEntry is one "name = value" logical line of main.cf.
type MainEntry struct {
	Name, Value string
	// Line is the physical line number where the logical line starts.
	Line int
}

// MainFile is a parsed main.cf.
type MainFile struct {
	Path string
	// Entries in file order, later duplicates included.
	Entries []MainEntry
	// Warnings in the order Postfix prints them, without the program prefix.
	Warnings []string
	// values maps a name to its last value.
	values map[string]string
}

// ParseError is a fatal main.cf syntax error, worded as Postfix words it.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

// LogicalLine is one logical line of a Postfix configuration file: its text
// with continuation lines joined and the physical lines it covers.
type LogicalLine struct {
	Text      string
	FirstLine int
	LastLine  int
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// SplitPhysical splits data into lines without their "\n"; a final line
// without a newline still counts.
func SplitPhysical(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	s := string(data)
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	lines := make([]string, 0, bytes.Count(data, []byte{'\n'})+1)
	for {
		i := indexByte(s, '\n')
		if i < 0 {
			return append(lines, s)
		}
		lines = append(lines, s[:i])
		s = s[i+1:]
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// IsSkippable reports whether a physical line is blank, white space only, or
// a comment (first non-white character '#').
func IsSkippable(line string) bool {
	for i := 0; i < len(line); i++ {
		if !isSpace(line[i]) {
			return line[i] == '#'
		}
	}
	return true
}

// LogicalLines joins physical lines into logical lines the way Postfix's
// readlline does. warn receives "logical line must not start with
// whitespace" for a continuation line that has nothing to continue.
func LogicalLines(path string, data []byte, warn func(string)) []LogicalLine {
	var out []LogicalLine
	var cur *LogicalLine
	var buf []byte
	flush := func() {
		if cur != nil {
			cur.Text = string(trimRight(buf))
			out = append(out, *cur)
			cur = nil
			buf = buf[:0]
		}
	}
	for i, line := range SplitPhysical(data) {
		n := i + 1
		if IsSkippable(line) {
			continue
		}
		if isSpace(line[0]) {
			if cur == nil {
				if warn != nil {
					warn(fmt.Sprintf("%s: logical line must not start with whitespace: \"%s\"", path, line))
				}
				continue
			}
			buf = append(buf, line...)
			cur.LastLine = n
			continue
		}
		flush()
		cur = &LogicalLine{FirstLine: n, LastLine: n}
		buf = append(buf, line...)
	}
	flush()
	return out
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// SplitNameValue splits "name = value" as Postfix does. It returns the
// Postfix error text ("missing attribute name", "missing '=' after attribute
// name") when the text is not of that form.
func SplitNameValue(text string) (name, value, errText string) {
	s := text
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	i := 0
	for i < len(s) && !isSpace(s[i]) && s[i] != '=' {
		i++
	}
	name = s[:i]
	if name == "" {
		return "", "", "missing attribute name"
	}
	rest := s[i:]
	for len(rest) > 0 && isSpace(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) == 0 || rest[0] != '=' {
		return "", "", "missing '=' after attribute name"
	}
	return name, trimSpace(rest[1:]), ""
}

// ParseMain parses main.cf text. Warnings are collected in the result; a
// syntax error is returned as a *ParseError carrying Postfix's wording.
func ParseMain(path string, data []byte) (*MainFile, error) {
	f := &MainFile{Path: path, values: map[string]string{}}
	warn := func(s string) { f.Warnings = append(f.Warnings, s) }
	lineNo := map[string]int{}
	for _, ll := range LogicalLines(path, data, warn) {
		name, value, e := SplitNameValue(ll.Text)
		if e != "" {
			return f, &ParseError{fmt.Sprintf("%s, line %d: %s: \"%s\"", path, ll.FirstLine, e, ll.Text)}
		}
		if old, dup := f.values[name]; dup && old != value {
			warn(fmt.Sprintf("%s, line %d: overriding earlier entry: %s=%s", path, ll.FirstLine, name, old))
		}
		f.values[name] = value
		lineNo[name] = ll.FirstLine
		f.Entries = append(f.Entries, MainEntry{Name: name, Value: value, Line: ll.FirstLine})
	}
	return f, nil
}

// ReadMain reads and parses a main.cf file. A missing file is reported as
// Postfix reports it.
func ReadMain(path string) (*MainFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMain(path, data)
}

// Value returns the last value given to name in the file.
func (f *MainFile) Value(name string) (string, bool) {
	if f == nil {
		return "", false
	}
	v, ok := f.values[name]
	return v, ok
}

// Names returns each name set in the file once, in order of first
// appearance.
func (f *MainFile) Names() []string {
	if f == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, e := range f.Entries {
		if !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, e.Name)
		}
	}
	return out
}

// SplitPhysicalKeepEnd splits data into lines that keep their "\n"; the
// last line may lack one.
func SplitPhysicalKeepEnd(data []byte) []string {
	var out []string
	s := string(data)
	for len(s) > 0 {
		i := indexByte(s, '\n')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
