// Package flow holds the end-to-end scenarios of the mail flow: each test
// starts a whole private mail system (internal/flowtest) — our master and
// daemons, and for differential tests Debian's Postfix 3.7 configured the
// same way beside it — hands mail in with the real sendmail command, and
// reads the result back with real tools: Python's mailbox and email
// modules, Debian's postcat, the mail log.
package flow
