// Package master is the resident supervisor of the mail system, as
// Postfix's master(8): it reads master.cf and main.cf, creates every
// service's listening sockets, starts $daemon_directory/COMMAND on demand,
// passes it the listeners, restarts what exits, throttles what keeps
// failing, wakes trigger services periodically, and re-reads its
// configuration on SIGHUP.
//
// # Command line
//
//	master [-Ddistvw] [-c config_dir] [-e exit_time]
//
// -c dir: read main.cf and master.cf from dir (passed on to the daemons as
// MAIL_CONFIG). -d: stay in the foreground and keep standard input, output
// and error. -s: stay in the foreground and keep standard output (so that
// "maillog_file = /dev/stdout" works; "postfix start-fg" uses it). -i: init
// mode, as -s, allowed only as process 1. -w: start the master in the
// background and wait until it has initialised (or failed); the exit status
// says which ("postfix start" uses it). Without -d, -s, -i or -w the master
// detaches into the background without waiting. -e exit_time: the master
// exits after exit_time seconds; its children finish at their convenience.
// -t: test whether a master is running: exit status 0 when none is (the
// lock file is absent or not locked), 1 otherwise, printing nothing. -v: verbose logging, passed on to the
// daemons. -D: accepted and ignored (no debugger support).
//
// # Services
//
// Each master.cf entry "service type private unpriv chroot wakeup maxproc
// command args…" becomes a service:
//
//   - unix: a stream socket $queue_directory/public/NAME, or private/NAME
//     when the private column is y (the default), mode 0666 (the
//     directories restrict access), owned by mail_owner when run as root.
//   - unix-dgram: a datagram socket at the same place.
//   - fifo: a named pipe public/NAME or private/NAME, mode 0622, opened
//     read-write by master so it never sees end of file.
//   - inet: TCP listeners. "host:port" listens on that address; a bare
//     port listens on every address of inet_interfaces ("all": the
//     wildcard address of the protocols in inet_protocols;
//     "loopback-only": 127.0.0.1 and ::1). Ports may be names:
//     known_tcp_ports first, then /etc/services.
//   - pass: not supported yet; the service is skipped with a warning.
//
// The command is always looked up in $daemon_directory, as Postfix does
// (even one that starts with "/"). Postfix's own daemons run under this
// master unchanged: the descriptors, command line, GENERATION and status
// messages are Postfix's, so a partial installation that keeps some of
// Debian's daemons works.
//
// A service whose command is not in $daemon_directory is skipped with one
// warning naming it ("warning: master.cf: line N: service smtp/inet:
// program /usr/lib/postfix/sbin/smtpd not found -- skipping this
// service"), so that Debian's stock master.cf starts while this project
// lacks some daemons. master_service_disable ("name/type" or "type") turns
// services off as in Postfix.
//
// # Processes
//
// A service's processes are started on demand: when none of its processes
// is available (see internal/server for the status protocol) and a listener
// has a pending connection or data, master starts one more, up to maxproc
// ("-" = default_process_limit, 0 = no limit). The command line, descriptor
// layout and environment are documented in internal/server; argv is that of
// Postfix's master ("cleanup -z -t unix -u -c", "trivial-rewrite -n rewrite
// -t unix -u -c") followed by master.cf's arguments. The environment is
// import_environment plus MAIL_CONFIG, MAIL_LOGTAG and GENERATION, as
// Postfix's, and GOMAXPROCS=1 unless import_environment passes a
// GOMAXPROCS: our daemons then start with one Go processor (a cheaper
// start-up), and master keeps its own setting. Commands that daemons run
// (local's pipe deliveries) get only export_environment, without it.
//
// When a client waits, every process of a service is busy and the service
// runs maxproc (more than one) processes, master logs Postfix's three
// warnings ('service "smtp" (25) has reached its process limit "100": new
// clients may experience noticeable delays', and two hints), at most once
// every 1000 seconds per service.
//
// A process that ends with a non-zero status is logged as Postfix logs it
// ("warning: process /usr/lib/postfix/sbin/qmgr pid 123 exit status 1",
// "… killed by signal 9"); when it had not yet taken any work, the
// service is throttled for service_throttle_time ("warning:
// /usr/lib/postfix/sbin/qmgr: bad command startup -- throttling"): no new
// process is started for it until then.
//
// Daemons get /dev/null as standard input and output. Their standard error
// is master's own when master runs in the foreground (-d, -s, -i); in the
// background it is a pipe whose lines master logs ("warning: process
// /usr/lib/postfix/sbin/cleanup pid 123: panic: ..."), so that the crash
// report of the Go runtime is not lost (at most 200 lines per process; our
// daemons write nothing else there).
//
// A service with a wakeup time gets a "W" trigger right after start and
// every wakeup seconds after that; with a trailing "?" only once one of its
// processes has been started. Triggers go to the service's socket or fifo,
// so the first one also starts the daemon (pickup, qmgr).
//
// # Signals
//
// SIGHUP ("postfix reload"): main.cf and master.cf are read again ("reload
// -- version 3.7.11, configuration /etc/postfix"). Services that keep their
// listening address keep their sockets, so no connection is refused; running
// processes are retired (master closes their status socket: they finish
// their clients and exit) and new ones start with the new settings. Processes
// of removed services are terminated at once. SIGTERM and SIGINT: master
// logs "terminating on signal 15", passes the signal to its children and
// exits.
//
// # Files and modes
//
// $queue_directory/pid/master.pid (owned by root) and
// $data_directory/master.lock (owned by mail_owner) hold the master's
// process id in Postfix's format (right-aligned in 32 columns) and stay
// locked (flock) while it runs. Started by root (privileged mode), master
// itself keeps root and each daemon chroots (chroot column y) and drops to
// mail_owner (unprivileged column y) in internal/server. Started by any
// other user (unprivileged mode), nothing chroots or changes user;
// mail_owner is ignored, and the lock files and sockets belong to that user.
//
// Parameters read: config_directory, daemon_directory, queue_directory,
// data_directory, mail_owner, mail_version, default_process_limit,
// service_throttle_time, inet_interfaces, inet_protocols, known_tcp_ports,
// master_service_disable, import_environment, syslog_name and those of
// internal/maillog.
package master
