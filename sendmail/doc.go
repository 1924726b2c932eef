// Package sendmail is the sendmail(1) command, Postfix's Sendmail-compatible
// mail posting interface. It is also mailq(1) when invoked under that name
// (argv[0] "mailq" means -bp).
//
// # Delivery mode (the default, -bm)
//
// sendmail reads a message from standard input and hands it to postdrop(1)
// ($command_directory/postdrop -r), which writes it into the maildrop queue
// and wakes up pickup(8). The two speak Postfix's own protocol (see package
// postdrop): postdrop answers with its queue ID, sendmail sends the message
// as queue file records, postdrop answers with a status. sendmail exits 0
// only after postdrop reported that the file is safely on disk.
//
// The records sent are, in order: A envelope_id (-V), A ret_flags (-R),
// A rewrite_context=local (remote with -G), F full name (-F, else $NAME, else
// the password file's GECOS name), S sender (-f or -r, parsed as an RFC 822
// address list and internalized; else the login name), A encoding (-B),
// A trace_flags (-v: 1024, -bv: 512), V VERP delimiters (-XV), then per
// recipient on the command line [A notify_flags (-N)] R address (each
// argument is parsed as an address list; an argument without an address is
// an empty recipient), M, the message as N (line) and L (partial line)
// records of at most line_length_limit bytes, X, the recipients extracted
// with -t, and E.
//
// Input handling follows Postfix: leading "From " lines (also ">From ")
// are dropped; carriage returns before the newline are removed as
// sendmail_fix_line_endings says (always, strict: only when the first line
// has one, never); a line holding a single "." ends the message unless -i or
// -oi was given. With -t the primary message header is parsed and the
// addresses in To, Cc and Bcc, or, once a Resent-To/Cc/Bcc header has been
// seen, only those in the Resent- headers, are sent as extracted recipients;
// removing the Bcc header is cleanup's job, as in Postfix.
//
// # Other modes
//
//	-bp, mailq       $command_directory/postqueue -p
//	-q               $command_directory/postqueue -f (flush the queue)
//	-qRsite          $command_directory/postqueue -s site
//	-qIqueueid       $command_directory/postqueue -i queueid
//	-qINTERVAL       ignored (exit 0)
//	-bi, -I          $command_directory/postalias $alias_database (newaliases)
//	-bs              $daemon_directory/smtpd -S (SMTP on standard input)
//	-bd              $command_directory/postfix start, in the background
//	-bh, -bH         ignored (exit 0)
//	-bv              probe: the message is replaced by a probe and the
//	                 report is mailed to the sender
//
// Options -C file (a main.cf or its directory), -F name, -f sender, -r sender,
// -N dsn, -R ret, -V envid, -B 7BIT|8BITMIME, -XV[delims], -G, -i, -oi,
// -oA file, -t and -v work as in Postfix; -c, -e, -h, -m, -o7, -o8, -om, -x,
// -A, -L, -O, -p, -U and other -o options are accepted and ignored; -n is
// refused.
//
// # Diagnostics and exit status
//
// Errors go to standard error as "sendmail: fatal: ..." and to the mail log
// as "postfix/sendmail[PID]: fatal: ...". Every fatal error exits with status
// 75 (EX_TEMPFAIL), as Postfix's sendmail does (its cleanup handler turns
// every fatal exit into a temporary failure, so a mail client keeps the
// message).
//
// # Security
//
// sendmail needs no privileges; it must not be installed set-uid. The
// authorized_submit_users check here only gives an early message: postdrop
// enforces it.
//
// Parameters read: alias_database, authorized_submit_users,
// command_directory, daemon_directory, line_length_limit, queue_directory,
// sendmail_fix_line_endings, verp_delimiter_filter, default_verp_delimiters,
// and what internal/maillog reads.
package sendmail
