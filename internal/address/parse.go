package address

import "strings"

// node is a token in the doubly linked list the parser rearranges.
type node struct {
	tok        *Token
	prev, next *node
	head       *node // first child of a group
}

// Parse turns an external-form address list (a header value) into a token
// tree, as Postfix's tok822_parse does. The parser works from right to
// left, is permissive and loses nothing: each address becomes a Group
// token; the phrase, angle brackets, group names and comments stay around
// it at the top level; missing commas between addresses are added.
func Parse(s string) []*Token { return ParseLimit(s, 0) }

// ParseLimit is Parse that reads at most limit tokens (0: no limit), as
// cleanup does with $header_address_token_limit.
func ParseLimit(s string, limit int) []*Token {
	toks := ScanLimit(s, limit)
	if len(toks) == 0 {
		return nil
	}
	head := &node{tok: &Token{}}
	tail := &node{tok: &Token{}}
	prev := head
	for _, t := range toks {
		n := &node{tok: t, prev: prev}
		prev.next = n
		prev = n
	}
	prev.next, tail.prev = tail, prev

	const (
		doWord  = 1
		doGroup = 2
	)
	state := doWord
	right := tail
	tp := tail.prev
	for tp.tok.Type != 0 {
		switch t := tp.tok.Type; {
		case t == Comment:
			tp, right = moveComment(tp, right)
			continue
		case t == ';':
			right = group(tp, right, ',')
			state = doGroup | doWord
		case t == ':' && state&doGroup != 0:
			tp.tok.Type = StartGrp
			group(tp, right, 0)
			for tp.tok.Type != 0 && tp.tok.Type != ',' {
				tp = tp.prev
			}
			right = tp
			continue
		case t == '>':
			right = group(tp, right, ',')
			for tp.tok.Type != 0 && tp.tok.Type != '<' {
				if tp.tok.Type == Comment {
					tp, right = moveComment(tp, right)
					continue
				}
				tp = tp.prev
			}
			group(tp, right, 0)
			for tp.tok.Type != 0 && (tp.tok.Type > 0xff || strings.IndexByte(">;,:", byte(tp.tok.Type)) < 0) {
				tp = tp.prev
			}
			right = tp
			state |= doWord
			continue
		case t == Atom || t == QString || t == DomLit:
			if state&doWord == 0 {
				right = group(tp, right, ',').next
			}
			state &^= doWord
		case t == ',':
			right = group(tp, right, 0)
			state |= doWord
		default:
			state |= doWord
		}
		tp = tp.prev
	}
	group(tp, right, 0)
	return toSlice(head.next, tail, false)
}

// moveComment takes comment node tp out of the list and puts it before
// right; it returns the node before tp and the new right.
func moveComment(tp, right *node) (*node, *node) {
	prev := tp.prev
	prev.next = tp.next
	tp.next.prev = prev
	tp.prev = right.prev
	tp.next = right
	right.prev.next = tp
	right.prev = tp
	return prev, tp
}

// group moves the nodes strictly between left and right under a new
// Group node and, when sync is not 0, inserts a sync operator after left.
// It returns left.
func group(left, right *node, sync int) *node {
	if left == right || left.next == right {
		return left
	}
	first, last := left.next, right.prev
	first.prev, last.next = nil, nil
	g := &node{tok: &Token{Type: Group}, head: first, prev: left, next: right}
	left.next, right.prev = g, g
	if sync != 0 {
		s := &node{tok: &Token{Type: sync}, prev: left, next: g}
		left.next, g.prev = s, s
	}
	return left
}

// toSlice converts the nodes from n up to (not including) stop into a
// token slice; tokens inside a group are owned.
func toSlice(n, stop *node, owned bool) []*Token {
	var out []*Token
	for ; n != nil && n != stop; n = n.next {
		t := n.tok
		t.owned = owned
		if t.Type == Group {
			t.Sub = toSlice(n.head, nil, true)
		}
		out = append(out, t)
	}
	return out
}
