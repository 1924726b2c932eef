// Package proxymap is the proxymap(8) daemon: it performs lookup table
// operations for other processes, so that a chrooted or unprivileged
// daemon can read a table it could not open itself (smtpd reads
// local_recipient_maps = proxy:unix:passwd.byname from inside its jail),
// and so that many processes share one open table instead of each
// opening their own.
//
// # Services
//
// master(8) runs it for two master.cf services: "proxymap" (read-only
// requests; the tables listed in proxy_read_maps) and "proxywrite"
// (updates and deletions as well; the tables listed in proxy_write_maps).
// Any other service name is a fatal error. One process serves any number
// of clients at once; the tables it opens stay open for every later
// request, one instance per table and per set of instance flags.
//
// # Protocol
//
// The attribute protocol in its zero form (internal/attr) on the unix
// socket private/proxymap or private/proxywrite. The server first sends
// {protocol=proxymap_protocol}. Each request is one record starting with
// "request"; the names, flags and status codes are spelled once, in
// maptypes/proxy.go, which also holds the client:
//
//	open:     table, flags              -> status, flags (FIXED or PATTERN, null-byte bits)
//	lookup:   table, flags, key         -> status, value
//	update:   table, flags, key, value  -> status       (proxywrite only)
//	delete:   table, flags, key         -> status       (proxywrite only)
//	sequence: table, flags, function    -> status, key, value  (function 0 first, 1 next)
//
// Status 0 is success, 1 no such key (or no more entries), 2 try again
// later (a table that cannot be read), 3 a malformed request, 4 a table
// that this service does not serve. The table name may carry "proxy:"
// prefixes, which are ignored. The flags are Postfix's DICT_FLAG_* bits:
// case folding (FOLD_FIX, FOLD_MUL), UTF-8 (UTF8_REQUEST) and the
// null-byte forms (TRY0NULL, TRY1NULL) take effect here (see Instances
// and flags).
//
// # Diagnostics
//
// A request for a table that is not listed is refused (status 4) with
// two warnings, as Postfix's:
//
//	warning: request for unapproved table: "hash:/etc/postfix/other"
//	warning: to approve this table for read-only access, list proxy:hash:/etc/postfix/other in main.cf:proxy_read_maps
//
// An update or deletion on the read-only service is refused with
// "refusing TABLE update request on non-proxywrite service"; an unknown
// request with "unrecognized request: "NAME", ignored" (status 3). A
// record that does not have the attributes of its request gets status
// 3, the decoder's warning, and the connection is closed. When a table
// file of the read-only service changes, the process logs "table
// TYPE:NAME:FLAGS has changed -- restarting" (FLAGS: the instance flags,
// usually none) at the next connection and exits, so that master starts
// one that reads the new contents.
//
// A table that cannot be opened is logged as Postfix's proxymap logs it:
// "error: WHY" when its instance is made, then "TYPE:NAME is unavailable.
// WHY" at each lookup, sequence, update or deletion, which answer status
// 2; its open reply says it is a pattern table. A client's open request
// and the lookups that follow share one instance, so the "error:" line
// comes once per table and null-byte flag set.
//
// # Instances and flags
//
// As in Postfix, an instance is selected by the table name and the
// instance flags of a request (in practice TRY0NULL and TRY1NULL): the
// flags a client may change from one request to the next (folding,
// UTF8_REQUEST, LOCK and the like) do not open another instance. The
// request that makes an instance decides how it is opened (a texthash
// or inline table made by an open request, which carries no folding
// bit, keeps its keys as written); each later request folds its key as
// its own FOLD_FIX (fixed tables) or FOLD_MUL (pattern tables) bit says,
// ASCII only unless the instance was opened with UTF-8, which needs
// smtputf8_enable here as in Postfix. The open reply carries the table's
// bits, the instance flags and the per-request bits of the latest
// request, as Postfix's does; one difference: once a lookup has found a
// key, Postfix's hash, btree, lmdb and cdb tables drop the null-byte flag
// of the form that they did not need, while the reply here keeps both
// (clients read only the FIXED, PATTERN and MULTI_WRITER bits of it).
//
// # Security
//
// proxymap opens tables as mail_owner; the tables it serves are only
// those the administrator listed, so a client cannot read arbitrary
// files through it. A process started as proxywrite keeps running when
// master is told to stop it in the middle of an update (Postfix starts
// it in its own session for this reason; here updates are atomic in the
// table implementations).
//
// # Configuration parameters
//
// proxy_read_maps, proxy_write_maps, smtputf8_enable, and what the
// daemon skeleton (internal/server) reads: queue_directory, mail_owner,
// max_idle, max_use.
package proxymap
