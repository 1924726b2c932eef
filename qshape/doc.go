// Package qshape is the qshape(1) command: it prints how many messages
// (or recipients) wait in Postfix's queues, broken down by domain and by
// age, so that an administrator can see which destinations are backing up
// and since when.
//
// SYNOPSIS
//
//	qshape [-s] [-p] [-m min_subdomains] [-b bucket_count] [-t bucket_time]
//	       [-l] [-w terminal_width] [-N batch_msg_count] [-n batch_top_domains]
//	       [-c config_directory] [queue_name ...]
//
// # DESCRIPTION
//
// Each queue named on the command line (by default incoming and active) is
// walked recursively. A relative name is taken inside queue_directory; an
// absolute one is used as it is. A file is looked at only when its name is
// six or more letters and digits and its mode is that of a finished queue
// file (owner read, write and execute; nobody else may write or execute).
// Its arrival time comes from its time record, or, for a file of the
// maildrop queue that has none yet, from its modification time. Every
// recipient still to be delivered (delivered ones are no longer recipient
// records) counts once, in the row of its domain and in the column of the
// message's age; with -s the sender is counted instead, once per message.
// A null sender is shown as MAILER-DAEMON.
//
// The first line names the columns: "T" (all ages), then the upper age
// limit in minutes of each bucket, the last one being that limit followed
// by "+". The TOTAL row and the domain rows follow, most counted first,
// then shorter names first (then, where Postfix's order is left to chance,
// in byte order). Rows are right-aligned so that the last column ends in
// column terminal_width; a domain name too long for the space left is cut
// to its end behind a '+'.
//
// Options:
//
//	-s  count sender domains instead of recipient domains.
//	-p  add a row for each parent domain (".example.com") that has at least
//	    min_subdomains subdomains; top-level domains get none.
//	-m min_subdomains   the -p threshold, default 5.
//	-b bucket_count     number of age buckets, default 10.
//	-t bucket_time      the first bucket's limit in minutes, default 5; each
//	    later bucket doubles it.
//	-l  make the bucket limits multiples of bucket_time instead of doubling.
//	-w terminal_width   output width, used when above 80.
//	-N batch_msg_count  when the output is a terminal, clear the screen and
//	    show the results so far every so many messages (default 1000).
//	-n batch_top_domains  when the output is a terminal, show only this many
//	    rows (default 20).
//	-c config_directory  read main.cf there (MAIL_CONFIG otherwise).
//	-h  print the usage and exit.
//
// Options follow Perl's Getopt::Std as Postfix's script does: they may be
// bundled (-sp), their values attached (-b5) or separate, and the first
// argument that is not an option ends them. Numeric values are read the way
// Perl reads numbers (leading digits, decimals and exponents accepted; a
// value that is not a number gets Perl's warning and is ignored when not
// positive).
//
// # DIAGNOSTICS
//
// Standard error reads as that of Postfix's Perl script, warnings included:
// a queue that cannot be examined gets File::Find's warning ("Can't stat
// incoming: No such file or directory", then " at PROG line 375."), and
// odd queue files and option values get the warnings Perl gives the script
// (for example "Use of uninitialized value $r in string eq at PROG line
// 223." for a file without a readable first record), naming the same
// script lines. A file that cannot be opened is skipped silently, as is
// one that is not a queue file. A usage error prints the usage text and
// exits with status 255; a queue_directory that cannot be entered exits
// with the error number; a main.cf that cannot be read gets postconf's
// fatal message and status 1.
//
// Files Postfix's script treats oddly are treated the same way: a file
// whose first record is neither the size record nor the sender (a maildrop
// file, whose time record comes first, or garbage) counts as one message
// that arrived at the epoch with no recipient and, for -s, a null sender.
//
// # DIFFERENCES FROM POSTFIX
//
// Rows with the same count and name length are printed in byte order;
// Postfix's script prints them in Perl's hash order, which changes from run
// to run. A queue file whose pointer records loop is skipped; the script
// reads it forever. --help and --version are ignored (Perl's Getopt::Std
// prints its own banner for them). queue_directory is read from main.cf
// directly instead of by running postconf, so postconf's warnings about
// master.cf do not appear.
//
// # CONFIGURATION PARAMETERS
//
// queue_directory, read (unexpanded) from main.cf only when a queue name is
// relative; a value with "$" is refused, as in Postfix.
package qshape
