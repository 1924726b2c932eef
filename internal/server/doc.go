// Package server is the skeleton every daemon starts through, as Postfix's
// single_server, multi_server and trigger_server are: it takes the
// descriptors master(8) hands over, reads the configuration, opens what the
// daemon needs while still privileged, locks itself into the chroot jail,
// drops privileges and then serves connections or triggers until it is told
// to stop or has worked long enough.
//
// # Descriptor contract with master
//
// master starts $daemon_directory/COMMAND with these descriptors:
//
//	fd 3   flow control, read end  (a pipe; not used yet)
//	fd 4   flow control, write end (a pipe; not used yet)
//	fd 5   status: one end of a unix SOCK_STREAM socketpair
//	fd 6…  the service's listeners, in order (usually one; -s N says how many):
//	       unix, inet: a listening stream socket; fifo: the fifo opened O_RDWR;
//	       unix-dgram: a bound datagram socket
//
// Standard input, output and error are /dev/null. The environment holds
// MAIL_CONFIG (the configuration directory), MAIL_LOGTAG ($syslog_name) and
// GENERATION (the master's generation number, in octal as Postfix writes
// it, echoed in status messages so that master can tell the children of an
// earlier configuration apart), and GOMAXPROCS=1 unless import_environment
// passes the administrator's own (a Go daemon then starts on one processor
// from its first instruction).
//
// On fd 5 the child writes fixed-size status messages (StatusSize bytes,
// little-endian: int32 pid, uint32 generation, int32 status — the layout
// and values of Postfix's own master_status, so that Postfix's daemons run
// under our master and ours under Postfix's): StatusAvail
// when it is ready for work and StatusTaken when it has taken a connection
// or trigger. A Multi server serves any number of clients at once and stays
// available until it stops accepting (max_use reached): then it reports
// StatusTaken, so that master starts another process for new clients while
// it finishes with the ones it has. master counts
// available processes and starts another one only when none is available and
// a listener has a pending connection. The child also reads fd 5: end of file
// means master has gone away (it exited, or it reloaded its configuration and
// retired this generation); the child then stops accepting, finishes the
// clients it has and exits.
//
// # Command line
//
// master runs a daemon as
//
//	COMMAND [-c] [-d] [-l] [-s N] [-u] [-v]… [-z] -n SERVICE -t TYPE [master.cf args…]
//
// with argv[0] the bare command name as in master.cf (so ps shows "cleanup -z
// -n cleanup -t unix -u", as for Postfix). -c: the chroot column is y; -u: the
// unprivileged column is y; -l: maxproc is 1; -z: maxproc is 0 (unlimited);
// -s N: N listeners from fd 6 (default 1); -v: verbose logging; -d: master
// runs in the foreground (ignored). The master.cf arguments follow; of these
// the skeleton itself handles "-o name=value" (a main.cf override for this
// service) and -v; the other operands are the daemon's own (Service.Args).
// -S (not from master) runs the daemon stand-alone: standard input and output
// are one client connection (Single and Multi), or standard input is one
// trigger request (Trigger); this is how tests drive a daemon by hand, as
// Postfix's smtpd -S. Run by hand without -S and without the descriptors of
// master, a daemon exits with a fatal error.
//
// # Start-up order and security
//
// Run parses the command line, loads main.cf from $MAIL_CONFIG (or
// /etc/postfix) with the service's -o overrides, starts logging
// (internal/maillog, before chroot, so a maillog_file stays writable), changes
// to queue_directory and tells internal/ipc so (socket paths become
// "private/NAME"), calls PreJail (still root: open tables, keys, files), then
// — only when started as root — chroots to queue_directory when -c was given
// and, when -u was given and KeepRoot is not set, sets its groups, group and
// user to those of mail_owner. Service.Layout.Dir is "." throughout: the
// working directory is the queue directory both outside and inside the jail,
// so a Layout kept from PreJail works in the jail (a daemon must therefore
// never change directory). In the jail, Service.Config's queue_directory
// reads "/". Only then PostJail runs and serving starts; no goroutine of the daemon starts before privileges are dropped. Started by a
// user other than root (unprivileged mode), nothing chroots and nothing
// changes user: every process runs as that user.
//
// # When a daemon exits
//
// Single and Multi servers exit after max_use connections (0: no limit) or
// after max_idle of idleness with no client; Trigger servers (qmgr, pickup)
// keep running, as qmgr must. All exit when master goes away (after their
// clients are done) and at once on SIGTERM.
//
// Parameters read: queue_directory, mail_owner, max_idle, max_use, and
// what internal/maillog reads.
package server
