package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"regexp"
	"strings"
)

// Section is what the generator learns from one parameter's entry in the
// postconf(5) manual page.
type Section struct {
	// Unit is the stated default time unit, or 0.
	Unit byte
	// Text is the entry's prose with troff markup removed.
	Text string
}

// readManPage reads the (possibly gzip-compressed) postconf(5) page.
func readManPage(path string) (map[string]Section, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseManPage(data), nil
}

var (
	troffFont = regexp.MustCompile(`\\f[BIRP]`)
	unitRe    = regexp.MustCompile(`default time unit is ([smhdw])\b`)
)

// ParseManPage splits the manual page into its ".SH name (default: ...)"
// entries.
func ParseManPage(data []byte) map[string]Section {
	out := make(map[string]Section)
	var name string
	var text strings.Builder
	flush := func() {
		if name == "" {
			return
		}
		t := strings.Join(strings.Fields(text.String()), " ")
		s := Section{Text: t}
		if m := unitRe.FindStringSubmatch(t); m != nil {
			s.Unit = m[1][0]
		}
		out[name] = s
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, ".SH "); ok {
			flush()
			name, text = "", strings.Builder{}
			if f := strings.Fields(rest); len(f) > 1 && strings.HasPrefix(f[1], "(default") {
				name = f[0]
			}
			continue
		}
		if strings.HasPrefix(line, ".") {
			continue
		}
		line = troffFont.ReplaceAllString(line, "")
		line = strings.ReplaceAll(line, `\-`, "-")
		text.WriteString(line)
		text.WriteByte(' ')
	}
	flush()
	return out
}
