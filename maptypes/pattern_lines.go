package maptypes

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/internal/msg"
)

// This file holds what the regexp, pcre and cidr tables share when they read
// their source file: logical lines, the "KIND map FILE, line N:" warning
// prefix and the error for a file that cannot be opened.

// logicalLine is one rule of a pattern table after continuation lines were
// joined: its text without trailing white space and the number of the
// physical line where it starts.
type logicalLine struct {
	text string
	line int
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// isAlnum is C's isalnum in the "C" locale.
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// readPatternFile reads a table source file of type kind and splits it
// into logical lines. A path that starts with "{" is an inline table (see
// pattern_inline.go). A file that cannot be opened gives an error worded
// as Postfix's fatal message ("open FILE: No such file or directory").
func readPatternFile(kind, path string) ([]logicalLine, error) {
	if isInlineName(path) {
		src, err := inlineSource(kind, path)
		if err != nil {
			return nil, err
		}
		return splitLogicalLines(path, src), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, openError(path, err)
	}
	return splitLogicalLines(path, string(data)), nil
}

// openError words a failure to read path as Postfix does.
func openError(path string, err error) error {
	var errno syscall.Errno
	text := err.Error()
	if errors.As(err, &errno) {
		text = errno.Error()
		if text != "" && text[0] >= 'a' && text[0] <= 'z' {
			text = string(text[0]-'a'+'A') + text[1:]
		}
	}
	return fmt.Errorf("open %s: %s", path, text)
}

// splitLogicalLines joins continuation lines the way Postfix's readllines
// does: blank lines and lines whose first non-blank character is '#' are
// dropped wherever they are; a line that starts with white space continues
// the previous one (its leading white space is kept); a logical line must
// not start with white space, and one that does is reported and dropped.
func splitLogicalLines(path, data string) []logicalLine {
	var out []logicalLine
	var cur strings.Builder
	start := 0
	have := false
	flush := func() {
		if !have {
			return
		}
		text := cur.String()
		if text != "" && isSpace(text[0]) {
			shown := text
			more := ""
			if len(shown) > 30 {
				shown, more = shown[:30], "..."
			}
			msg.Warn("%s: logical line must not start with whitespace: \"%s%s\"", path, shown, more)
		} else {
			out = append(out, logicalLine{text: strings.TrimRightFunc(text, isSpaceRune), line: start})
		}
		cur.Reset()
		have = false
	}
	lineno := 0
	for len(data) > 0 {
		var line string
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, ""
		}
		lineno++
		j := 0
		for j < len(line) && isSpace(line[j]) {
			j++
		}
		if j == len(line) || line[j] == '#' {
			continue
		}
		if j == 0 || !have {
			flush()
			start = lineno
			have = true
		}
		cur.WriteString(line)
	}
	flush()
	return out
}

func isSpaceRune(r rune) bool { return r < 0x80 && isSpace(byte(r)) }

// patternWarner prefixes warnings with "KIND map FILE, line N: ".
type patternWarner struct {
	kind, path string
}

func (w patternWarner) warn(line int, format string, args ...any) {
	msg.Warn("%s map %s, line %d: %s", w.kind, w.path, line, fmt.Sprintf(format, args...))
}
