package address

import "strings"

// Addr is one address of a header address list.
type Addr struct {
	// Display is the phrase before "<...>" in internal form ("" when
	// there is none).
	Display string
	// Addr is the address in internal (unquoted) form; "" for <>.
	Addr string
}

// ParseList returns the addresses of a header value (From, To, Cc,
// Resent-*, ...), parsed as Postfix's cleanup does: every address group
// that the parser finds, in order, including those inside named groups.
func ParseList(s string) []Addr { return ParseListLimit(s, 0) }

// ParseListLimit is ParseList that reads at most limit tokens
// ($header_address_token_limit; 0 for no limit).
func ParseListLimit(s string, limit int) []Addr {
	var out []Addr
	tree := ParseLimit(s, limit)
	start := 0
	for i, t := range tree {
		switch t.Type {
		case ',', StartGrp, ';', '>':
			start = i + 1
		case Group:
			a := Addr{Addr: Internalize(t.Sub)}
			if i > 0 && tree[i-1].Type == '<' {
				var phrase []*Token
				for _, p := range tree[start : i-1] {
					if p.Type != Comment {
						phrase = append(phrase, p)
					}
				}
				a.Display = Internalize(phrase)
			}
			out = append(out, a)
			start = i + 1
		}
	}
	return out
}

// HeaderList is a parsed address header that cleanup rewrites address by
// address and then writes out again, only when something changed.
type HeaderList struct {
	tree    []*Token
	changed bool
}

// ParseHeader parses a header value for rewriting, reading at most limit
// tokens ($header_address_token_limit; 0 for no limit).
func ParseHeader(value string, limit int) *HeaderList {
	return &HeaderList{tree: ParseLimit(value, limit)}
}

// Len returns the number of addresses in the list.
func (h *HeaderList) Len() int {
	n := 0
	for _, t := range h.tree {
		if t.Type == Group {
			n++
		}
	}
	return n
}

// RewriteExternal passes each address in external form to fn, as
// cleanup's trivial-rewrite step does: an address counts as changed when
// fn's result differs from the external form byte for byte, and is then
// replaced by the tokens of the result.
func (h *HeaderList) RewriteExternal(fn func(external string) string) {
	for _, t := range h.tree {
		if t.Type != Group {
			continue
		}
		src := Externalize(t.Sub)
		if dst := fn(src); dst != src {
			h.changed = true
			t.Sub = Scan(dst)
		}
	}
}

// RewriteInternal passes each address in internal form to fn, as
// cleanup's canonical and masquerading steps do: an address counts as
// changed when fn's result differs from the internal form, and is then
// replaced by the tokens of the quoted result.
func (h *HeaderList) RewriteInternal(fn func(internal string) string) {
	for _, t := range h.tree {
		if t.Type != Group {
			continue
		}
		src := Internalize(t.Sub)
		if dst := fn(src); dst != src {
			h.changed = true
			t.Sub = Scan(External(dst))
		}
	}
}

// Addresses returns the addresses of the list in internal form, after
// the rewrites so far: what cleanup extracts as recipients (sendmail -t)
// or records as the header sender.
func (h *HeaderList) Addresses() []string {
	var out []string
	for _, t := range h.tree {
		if t.Type == Group {
			out = append(out, Internalize(t.Sub))
		}
	}
	return out
}

// Changed reports whether any rewrite changed an address.
func (h *HeaderList) Changed() bool { return h.changed }

// Value returns the list in external form with a newline after each
// comma, the form cleanup folds (see Fold).
func (h *HeaderList) Value() string { return ExternalizeLines(h.tree) }

// Header returns "name: value" folded as cleanup writes a rewritten
// address header: lines joined with spaces while under 70 bytes,
// continuation lines starting with a tab.
func (h *HeaderList) Header(name string) string { return Fold(name + ": " + h.Value()) }

// RewriteList rewrites each address of a header value with fn, which gets
// and returns an address in internal form. When fn changed nothing, s
// comes back as it was; otherwise the list is re-emitted as Postfix's
// cleanup does, with a newline after each comma (Fold joins those lines).
func RewriteList(s string, fn func(internal string) string) string {
	h := ParseHeader(s, 0)
	h.RewriteInternal(fn)
	if !h.Changed() {
		return s
	}
	return h.Value()
}

// RewriteHeader rewrites the addresses in the value of header name (as
// written in the message) with fn (internal form) and returns the whole
// header folded as cleanup writes it: "Name: a, b,\n\tc". changed is
// false, and the header is returned as "Name:value", when fn changed no
// address.
func RewriteHeader(name, value string, fn func(internal string) string) (header string, changed bool) {
	h := ParseHeader(value, 0)
	h.RewriteInternal(fn)
	if !h.Changed() {
		return name + ":" + value, false
	}
	return h.Header(name), true
}

// Fold joins the lines of a rewritten address header ("one address per
// line") with spaces while the line stays under 70 bytes, and starts a
// continuation line (prefixed with a tab) otherwise, as cleanup does.
func Fold(header string) string {
	lines := strings.Split(header, "\n")
	var b strings.Builder
	lineStart := 0
	for i, l := range lines {
		if i > 0 {
			if b.Len()-lineStart+1+len(l) < 70 {
				b.WriteByte(' ')
			} else {
				b.WriteByte('\n')
				if l == "" || !isSpace(l[0]) {
					b.WriteByte('\t')
				}
				lineStart = b.Len()
			}
		}
		b.WriteString(l)
	}
	return b.String()
}

func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
