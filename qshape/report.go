package qshape

import (
	"bufio"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// settings are the options that shape the report.
type settings struct {
	sender  bool    // -s
	parent  bool    // -p
	linear  bool    // -l
	buckets float64 // -b, default 10
	tick    float64 // -t, minutes, default 5
	width   float64 // -w, default 80
	minSub  float64 // -m, default 5
}

// minDomainWidth is the narrowest the domain column gets.
const minDomainWidth = 18

// tally counts addresses by domain and age bucket. Column 0 is the total
// over all buckets; columns 1 to the bucket count are the buckets.
type tally struct {
	set    settings
	counts map[string][]int64
	subs   map[string]int // parent domain: number of distinct subdomains
	warn   warnFunc       // Perl's warnings; nil for none
}

// lineMinSubCheck is the line of Postfix's script that compares a parent
// domain's subdomain count with min_subdomains.
const lineMinSubCheck = 367

func newTally(set settings) *tally {
	return &tally{set: set, counts: map[string][]int64{}, subs: map[string]int{}}
}

// bucket returns the column of a message that arrived at arrival.
func (t *tally) bucket(arrival float64, now int64) int {
	m := (float64(now) - arrival) / (60 * t.set.tick)
	var b float64
	switch {
	case m < 1:
		b = 1
	case t.set.linear:
		b = perlInt(m + 1)
	default:
		b = 2 + perlInt(math.Log(m)/math.Log(2))
	}
	if !(b < t.set.buckets) {
		b = t.set.buckets
	}
	return int(b)
}

func (t *tally) inc(key string, b int) (first bool) {
	c := t.counts[key]
	if len(c) <= b {
		c = append(c, make([]int64, b+1-len(c))...)
	}
	c[0]++
	c[b]++
	t.counts[key] = c
	return c[0] == 1
}

// add counts the addresses of one message of column b.
func (t *tally) add(b int, addrs []string) {
	for _, a := range addrs {
		t.inc("TOTAL", b)
		d := domainOf(a)
		isNew := false
		for {
			first := t.inc(d, b)
			if isNew {
				t.subs[d]++
			}
			isNew = first
			if !t.set.parent {
				break
			}
			p, ok := parentOf(d)
			if !ok {
				break
			}
			d = p
		}
	}
}

// domainOf reduces an address to the domain qshape shows: lower case,
// what follows the last '@', doubled dots made single, one leading and
// one trailing dot dropped. The null address is MAILER-DAEMON.
func domainOf(a string) string {
	a = asciiLower(a)
	if a == "" {
		a = "MAILER-DAEMON"
	}
	// Postfix's script removes up to the last '@' of the first line that
	// has one ('.' does not match a newline in its pattern).
	lineStart := 0
	for lineStart <= len(a) {
		end := strings.IndexByte(a[lineStart:], '\n')
		if end < 0 {
			end = len(a)
		} else {
			end += lineStart
		}
		if at := strings.LastIndexByte(a[lineStart:end], '@'); at >= 0 {
			a = a[:lineStart] + a[lineStart+at+1:]
			break
		}
		lineStart = end + 1
	}
	a = strings.ReplaceAll(a, "..", ".")
	return trimDots(a)
}

// trimDots drops one leading and one trailing dot of the last line, as
// the script's s/\.?(.+?)\.?$/$1/ does (a lone "." stays).
func trimDots(a string) string {
	end := len(a)
	if strings.HasSuffix(a, "\n") {
		end--
	}
	start := strings.LastIndexByte(a[:end], '\n') + 1
	line := a[start:end]
	if line == "" {
		return a
	}
	if line[0] == '.' && len(line) >= 2 {
		line = line[1:]
	}
	if len(line) >= 2 && line[len(line)-1] == '.' {
		line = line[:len(line)-1]
	}
	return a[:start] + line + a[end:]
}

// parentOf returns the parent of d with a leading dot (".example.com" for
// "mail.example.com" or ".mail.example.com"); a domain of two labels has
// none.
func parentOf(d string) (string, bool) {
	i := 0
	if strings.HasPrefix(d, ".") {
		i = 1
	}
	k := strings.IndexByte(d[i:], '.')
	if k <= 0 {
		return "", false
	}
	rest := d[i+k+1:]
	line := rest
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		line = rest[:nl]
	}
	if !strings.Contains(line, ".") {
		return "", false
	}
	return "." + rest, true
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// write prints the heading, the TOTAL row and the domain rows; top > 0
// limits the rows (TOTAL included) to that many.
func (t *tally) write(w *bufio.Writer, top float64) {
	set := t.set
	if _, ok := t.counts["TOTAL"]; !ok {
		t.counts["TOTAL"] = nil
	}
	total := t.counts["TOTAL"]
	var heads []string
	var widths []int
	dw := set.width
	limit := 0.0 // upper age limit of the next bucket, in minutes
	plus := ""   // the limit once past the last bounded bucket: "1280+"
	for i := 0; float64(i) <= set.buckets; {
		var n int64
		if i < len(total) {
			n = total[i]
		}
		l := len(strconv.FormatInt(n, 10))
		h := "T"
		if i > 0 {
			h = plus
			if h == "" {
				h = perlString(limit)
			}
		}
		if len(h) >= l {
			l = len(h)
		}
		if l > 2 {
			l++
		} else {
			l = 3
		}
		heads = append(heads, h)
		widths = append(widths, l)
		dw -= float64(l)
		i++
		switch {
		case float64(i) < set.buckets:
			if limit != 0 && !set.linear {
				limit += limit
			} else {
				limit += set.tick
			}
		case plus == "":
			plus = perlString(limit) + "+"
		default:
			plus += "+"
		}
	}
	if dw < minDomainWidth {
		dw = minDomainWidth
	}
	t.row(w, dw, "", heads, widths)

	keys := make([]string, 0, len(t.counts))
	for k := range t.counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if ca, cb := first(t.counts[a]), first(t.counts[b]); ca != cb {
			return ca > cb
		}
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		return a < b
	})
	shown := 0.0
	cells := make([]string, len(widths))
	for _, k := range keys {
		if strings.HasPrefix(k, ".") {
			n, ok := t.subs[k]
			if !ok && t.warn != nil {
				t.warn("Use of uninitialized value in numeric lt (<)", lineMinSubCheck)
			}
			if float64(n) < set.minSub {
				continue
			}
		}
		shown++
		if top > 0 && shown > top {
			break
		}
		c := t.counts[k]
		for i := range cells {
			var n int64
			if i < len(c) {
				n = c[i]
			}
			cells[i] = strconv.FormatInt(n, 10)
		}
		t.row(w, dw, k, cells, widths)
	}
}

func first(c []int64) int64 {
	if len(c) == 0 {
		return 0
	}
	return c[0]
}

// row prints one line: the name right-aligned in dw columns (cut from the
// left behind "+" or ".+" when longer), then each cell right-aligned in
// its width.
func (t *tally) row(w *bufio.Writer, dw float64, name string, cells []string, widths []int) {
	n := float64(len(name))
	if n > dw {
		if strings.HasPrefix(name, ".") {
			w.WriteString(".+")
			w.WriteString(substr(name, perlInt(n-dw+2), perlInt(dw-2)))
		} else {
			w.WriteString("+")
			w.WriteString(substr(name, perlInt(n-dw+1), perlInt(dw-1)))
		}
	} else {
		if pad := int(perlInt(dw - n)); pad > 0 {
			w.WriteString(strings.Repeat(" ", pad))
		}
		w.WriteString(name)
	}
	for i, c := range cells {
		fmt.Fprintf(w, "%*s", widths[i], c)
	}
	w.WriteByte('\n')
}

// substr is Perl's substr(s, off, n) for 0 <= off.
func substr(s string, off, n float64) string {
	if off > float64(len(s)) {
		return ""
	}
	s = s[int(off):]
	if n < float64(len(s)) {
		s = s[:int(n)]
	}
	return s
}
