// Package address parses and prints mail addresses the way Postfix's
// tok822 and quote_822_local routines do, so that addresses rewritten by
// cleanup and trivial-rewrite come out byte for byte as Postfix writes
// them.
//
// Two forms of an address exist. The external form is what appears in
// message headers and on the wire, with RFC 822 quoting ("\"a b\"@x").
// The internal form is what queue files, lookup tables and logs use, with
// the quoting removed ("a b@x"). External and Internal convert between
// them.
//
// Scan splits a string into tokens (atoms, quoted strings, domain
// literals, comments, operators; '%', '!' and '|' count as operators as
// in Postfix). Parse builds an address-list tree from a header value: the
// parser is permissive, loses no text, and adds commas that are missing
// between addresses. Internalize and Externalize print tokens back, with
// white space where Postfix puts it.
//
// For cleanup's From:, To:, Cc:, Reply-To: and Resent-* headers,
// ParseHeader returns a HeaderList: RewriteExternal runs each address
// through trivial-rewrite the way cleanup does (external form, changed
// when the bytes differ), RewriteInternal runs canonical mapping or
// masquerading (internal form), Addresses lists the results, and Header
// re-emits the header, folded, only when Changed. ParseList, RewriteList
// and RewriteHeader are shorthands. A test submits such headers to
// Debian's cleanup and compares the stored header lines with ours byte
// for byte, folding and header_address_token_limit included.
//
// The package reads no configuration parameters and never fails: any byte
// string parses into something.
package address
