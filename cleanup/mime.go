package cleanup

import (
	"strings"
)

// MIME structure, as far as content inspection needs it: multipart
// boundaries open body parts whose headers go through mime_header_checks,
// and a message/rfc822 part (or top-level message) starts with headers
// that go through nested_header_checks. Everything else in the body goes
// through body_checks. disable_mime_input_processing turns this off.

// Header kinds in the body.
const (
	kindNone   = iota
	kindMIME   // headers of a multipart body part
	kindNested // headers of an attached message
)

// mimeState tracks the MIME structure of the body.
type mimeState struct {
	off        bool     // disable_mime_input_processing
	boundaries []string // open multipart boundaries, innermost last
	kind       int      // header kind being collected in the body, or kindNone
	hdr        []string // lines of the body-part header being collected
	nextNested bool     // the current part's body starts with nested headers
	partType   string   // content type of the part whose headers are read
	partBound  string   // its boundary parameter
}

// contentType returns the lower-case type/subtype and the boundary
// parameter of a Content-Type header value.
func contentType(value string) (typ, boundary string) {
	v := strings.ReplaceAll(value, "\n", " ")
	parts := strings.Split(v, ";")
	typ = strings.ToLower(strings.TrimSpace(parts[0]))
	if i := strings.IndexAny(typ, " \t("); i >= 0 {
		typ = typ[:i]
	}
	for _, p := range parts[1:] {
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "boundary") {
			continue
		}
		val = strings.TrimSpace(val)
		if strings.HasPrefix(val, "\"") {
			// A quoted string left open (a NUL cut the header) runs
			// to the end, as in Postfix's header tokenizer.
			if end := strings.IndexByte(val[1:], '"'); end >= 0 {
				val = val[1 : 1+end]
			} else {
				val = val[1:]
			}
		} else if i := strings.IndexAny(val, " \t("); i >= 0 {
			val = val[:i]
		}
		boundary = val
	}
	return typ, boundary
}

// noteType records what a Content-Type header (of the primary headers, a
// body part or an attached message) means for the body that follows.
func (ms *mimeState) noteType(value string) {
	typ, b := contentType(value)
	ms.partType, ms.partBound = typ, b
}

// startBody is called when a header block ends: a multipart type opens
// its boundary, message/rfc822 makes the body start with nested headers.
func (ms *mimeState) startBody() {
	if ms.off {
		return
	}
	switch {
	case strings.HasPrefix(ms.partType, "multipart/") && ms.partBound != "":
		ms.boundaries = append(ms.boundaries, ms.partBound)
	case ms.partType == "message/rfc822":
		ms.nextNested = true
	}
	ms.partType, ms.partBound = "", ""
}

// boundary reports whether l is a boundary line of an open multipart,
// closing inner levels as needed.
func (ms *mimeState) boundary(l string) bool {
	if ms.off || !strings.HasPrefix(l, "--") {
		return false
	}
	for i := len(ms.boundaries) - 1; i >= 0; i-- {
		b := ms.boundaries[i]
		if !strings.HasPrefix(l[2:], b) {
			continue
		}
		rest := l[2+len(b):]
		if strings.HasPrefix(rest, "--") {
			ms.boundaries = ms.boundaries[:i]
			ms.kind = kindNone
			return true
		}
		ms.boundaries = ms.boundaries[:i+1]
		ms.kind = kindMIME
		ms.nextNested = false
		return true
	}
	return false
}

// bodyLine handles one body line with MIME awareness. It returns true
// when the line was consumed as part of a body-part header block.
func (m *message) bodyLine(l string) bool {
	ms := &m.mime
	st := m.st
	if ms.nextNested {
		ms.nextNested = false
		ms.kind = kindNested
	}
	if ms.kind != kindNone {
		if len(ms.hdr) > 0 && l != "" && (l[0] == ' ' || l[0] == '\t') {
			ms.hdr = append(ms.hdr, m.cutNUL(l))
			return true
		}
		m.flushPartHeader()
		if isHeader(l) {
			ms.hdr = []string{m.cutNUL(l)}
			return true
		}
		// End of the part's headers.
		ms.kind = kindNone
		ms.startBody()
		if l == "" {
			st.writeText("")
			return true
		}
		return false
	}
	// A boundary line changes state and is then a body line like any
	// other (body_checks see it).
	if ms.boundary(l) {
		m.bodyBytes = 0 // body_checks_size_limit counts per body part
	}
	return false
}

// flushPartHeader checks and writes the body-part header collected so far.
func (m *message) flushPartHeader() {
	ms := &m.mime
	if len(ms.hdr) == 0 {
		return
	}
	h := strings.Join(ms.hdr, "\n")
	ms.hdr = nil
	st := m.st
	if m.checks && st.outOK() {
		table := st.d.mimeChecks
		if ms.kind == kindNested {
			table = st.d.nestChecks
			if isMIMEHeader(headerName(h)) {
				table = st.d.mimeChecks
			}
		}
		var keep bool
		h, keep = st.applyChecks(table, "header", h)
		if !keep {
			return
		}
	}
	if headerName(h) == "content-type" {
		ms.noteType(h[strings.IndexByte(h, ':')+1:])
	}
	m.emit(h)
}
