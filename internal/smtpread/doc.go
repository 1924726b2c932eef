// Package smtpread reads what an SMTP client sends to smtpd: command
// lines, the MAIL FROM and RCPT TO arguments with their ESMTP
// parameters, and message content after DATA or in BDAT chunks. It
// holds no session state beyond the buffered input; smtpd (package
// smtpd) owns the dialogue, the replies that depend on configuration,
// and all logging. Every behaviour below was checked against Debian's
// smtpd 3.7.11 (the tests *Reference run it).
//
// # Command lines
//
// Reader.ReadCommand returns one line without its line end. <CR><LF>
// ends a line; so does a bare <LF> unless smtpd_forbid_bare_newline is
// "reject" (then the line gives Postfix's reply "550 5.5.2 HOSTNAME
// Error: bare <LF> received", with the code from
// smtpd_forbid_bare_newline_reject_code, and Postfix hangs up). One
// <CR> before the <LF> is removed; a bare <CR> stays in the line. A line
// longer than line_length_limit is cut at the limit and its rest, up to
// the line end, is thrown away: it never becomes another command;
// Reader.Truncated then says so, for smtpd's "request longer than" warning
// (exact, also when a NUL shortened what is returned). The
// line is also cut at its first NUL byte, as Postfix's C strings cut it
// ("NO\0OP" is the unknown command "NO"). Other 8-bit bytes are kept:
// smtpd checks UTF-8 itself ("500 5.5.2 Error: bad UTF-8 syntax" when
// smtputf8_enable is on).
//
// Split tokenizes a line as Postfix's smtpd does: white space is space,
// tab, <CR>, <VT>, <FF>; "<...>" and "\"...\"" keep blanks inside; a
// token that reads "FROM:" or "TO:" ends at its colon. The verb is the
// first token, upper-cased; the argument is the rest of the line with
// outer white space removed. An empty or blank line gives verb "" (smtpd
// replies "500 5.5.2 Error: bad syntax").
//
// Fields splits an argument into words the same way: VRFY, ETRN and AUTH
// count their words so (a TAB separates two, a U+00A0 does not).
// ParseVrfy reads VRFY's words as one address, joined with single spaces
// ("VRFY a  b" is the illegal address "a b"), a last word SMTPUTF8 being
// the option only when smtputf8_enable is on; ValidDomain is ETRN's
// domain check. Reader.Cut returns what ReadCommand cut off at a NUL,
// which Postfix's UTF-8 check still sees ("NOOP x\0\xff" is bad UTF-8).
//
// # MAIL and RCPT
//
// ParsePath takes the argument after MAIL or RCPT. The first token must
// be FROM: (TO:), else "501 5.5.4 Syntax: MAIL FROM:<address>" ("RCPT
// TO:<address>"); the address is the next token, so "FROM: <a@b>" works
// and "FROM :<a@b>" does not. The address is read as Postfix reads it
// (its RFC 822 parser, which never fails): one pair of enclosing angle
// brackets is removed, a source route ("@a,@b:u@d") is dropped, comments
// and quotes are removed (internal form: <"a b"@c> is "a b@c"), a phrase
// before "<...>" and a group name ("g: a@b;") are skipped, stray "<" and
// ">" are ignored (a@b> is a@b), and a quoted string, comment or domain
// literal left open runs to the end (<a@[1.2.3.4> is a@[1.2.3.4]). Two
// addresses (two words side by side, a comma between two, a word after
// ">"), an angle bracket or quote the command tokenizer finds open
// (<a@b, <"a@b>), or an invalid domain (not a host name of letters,
// digits, '-' and '_', an all-numeric name, not a valid [address
// literal]) give "501 5.1.7 Bad sender address syntax" or "501 5.1.3 Bad
// recipient address syntax"; but for the tokenizer's open bracket or
// quote, Error.Warn asks smtpd to log "warning: Illegal address syntax
// from HOST in MAIL command: RAW" (RAW is Path.Raw). <> is allowed for MAIL
// only. With strict_rfc821_envelopes (PathOptions.StrictRFC821) the
// address must be in angle brackets with nothing else, and a leading
// "@" is refused.
//
// Parameters are checked left to right, the first problem being the
// reply, as Postfix does: MAIL takes BODY=7BIT, BODY=8BITMIME, SIZE=
// (digits; "501 5.5.4 Bad message size syntax", or "552 5.3.4 Message
// size exceeds file system imposed limit" on overflow), AUTH= (kept raw
// with control characters as '?', "<>" meaning none; a second one is
// "503 5.5.4 Error: multiple AUTH= options"), RET=FULL|HDRS ("501 5.5.4
// Bad RET parameter syntax", also when repeated), ENVID= (xtext, decoded
// to printable ASCII; "501 5.5.4 Bad ENVID parameter syntax") and
// SMTPUTF8. RCPT takes NOTIFY= ("501 5.5.4 Error: Bad NOTIFY parameter
// syntax") and ORCPT=type;xtext ("501 5.5.4 Error: Bad ORCPT parameter
// syntax"). With DSN discarded from EHLO (PathOptions.NoDSN) the DSN
// parameters give "501 5.7.1 DSN support is disabled". Anything else is
// "555 5.5.4 Unsupported option: TEXT" (BODY=BINARYMIME included: Postfix
// 3.7 does not offer BINARYMIME).
//
// What ParsePath leaves to smtpd, because it needs session state or
// configuration: the state checks that come first (HELO required,
// nested MAIL, "need MAIL command", rate limits), SIZE against
// message_size_limit ("552 5.3.4 Message size exceeds fixed limit") and
// free space, the AUTH= sender when SASL is on, XVERP for
// smtpd_authorized_verp_clients (an unsupported option here), the
// unqualified "postmaster" recipient that skips restrictions, the exact
// trivial-rewrite verdict on the domain, and the reply text showing
// control characters as spaces.
//
// # DATA and BDAT content
//
// ReadData and ReadChunk hand the message to a Sink one line at a time,
// without line end. A line longer than line_length_limit is handed over
// in pieces: every piece but the last has partial set (queue record L,
// the last one N), exactly where Postfix splits it; a <CR> that fills a
// piece and the <LF> after it still end the line. DATA content is
// dot-unstuffed (only at the start of a line, not of a continuation
// piece); BDAT content is taken as is, and a line may span chunks. A bare
// <CR> is content (Postfix's cleanup later turns it into a space). A bare
// <LF> ends a line like <CR><LF> and sets DataResult.BareNewline; under
// "reject" the content is read to its end and then the bare <LF> reply
// is returned (no hang-up unless the code is 521), so the session stays
// in sync.
//
// DataResult.Size is the size smtpd counts against message_size_limit
// and reports in "250 2.0.0 Ok: N bytes queued as ID" after BDAT: each
// piece, after unstuffing, plus 2.
//
// SMTP smuggling: DATA ends only at "." on a line of its own between two
// <CR><LF>. A "." line that ends in, or follows, a bare <LF> (or <CR>)
// is not the end: "\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r" never split one
// message into two, whatever smtpd_forbid_bare_newline says. Such a lone
// "." line is dropped from the content, as Postfix 3.7 does with
// "normalize". Postfix 3.7's default "no" ends the message on "\n.\n"; we
// deliberately do not (see doc/DIFFERENCES.md).
//
// # Parameters
//
// The package reads no configuration itself; smtpd passes these in
// Options and PathOptions: line_length_limit, smtpd_forbid_bare_newline
// (no, normalize, yes, reject), smtpd_forbid_bare_newline_reject_code,
// smtpd_forbid_bare_newline_exclusions (as Options.Exempt), myhostname,
// strict_rfc821_envelopes, smtputf8_enable and smtpd_discard_ehlo_keywords
// (DSN, SMTPUTF8).
//
// # Security
//
// This is the first code that touches untrusted input. Nothing here
// panics on any input (fuzz targets FuzzCommand, FuzzPath, FuzzData);
// memory per line is bounded by line_length_limit; the Sink's line is a
// reused buffer, valid only during the call, so reading content
// allocates nothing per line.
//
// # Changes to the seam
//
// Beyond the API in the seams: Options has RejectCode, Exempt
// and Hostname; Error has Warn; Param has HasValue; PathOptions has NoDSN
// and NoSMTPUTF8; DataResult is {Size, BareNewline, Lines};
// Reader.ResetChunks drops a partial BDAT line after RSET;
// Reader.Truncated tells a cut command line.
//
// Path has Raw and the checked parameter values, in go-smtp's types where
// the meaning is the same: Path.Mail is a smtp.MailOptions (Body, Size,
// UTF8, Return, EnvelopeID) and Path.Rcpt a smtp.RcptOptions (Notify,
// OriginalRecipientType, OriginalRecipient); NotifyFlags turns Notify
// into the Notify* bits Postfix stores. Two things do not fit go-smtp's
// meaning and are kept apart or as Postfix has them:
// MailOptions.Auth is the decoded AUTH= identity, while Postfix keeps the
// value raw (xtext not decoded, control characters as '?'), so it stays
// nil and Path.AuthRaw/HasAuth carry Postfix's value;
// OriginalRecipientType keeps the client's spelling ("rfc822", not
// go-smtp's "RFC822"), because Postfix writes it to the queue file as
// sent (compare it with strings.EqualFold). RequireTLS, MTPriority,
// DeliverBy and RRVS stay zero: Postfix 3.7 offers none of them.
package smtpread
