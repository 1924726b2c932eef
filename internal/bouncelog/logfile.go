package bouncelog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/queue"
)

// Entry is one recipient's record in a bounce, defer or trace log.
type Entry struct {
	Rcpt   dsn.Recipient
	Status dsn.Status
	// When is not stored in the log (Postfix's format has no time); Read
	// sets it to the log file's modification time.
	When time.Time
}

// Attribute names of the log format (Postfix's MAIL_ATTR_*).
const (
	attrRecip    = "recipient"
	attrOrcpt    = "original_recipient"
	attrOffset   = "offset"
	attrDSNOrcpt = "dsn_orig_rcpt"
	attrNotify   = "notify_flags"
	attrStatus   = "status"
	attrAction   = "action"
	attrDType    = "diag_type"
	attrDText    = "diag_text"
	attrMType    = "mta_type"
	attrMName    = "mta_mname"
	attrReason   = "reason"
)

// Options are the main.cf settings that change how logs are written and
// read; the zero value is Postfix's default.
type Options struct {
	// NoOldCompat omits the old-style "<recipient>: reason" line
	// (backwards_bounce_logfile_compatibility = no).
	NoOldCompat bool
	// ASCII replaces every non-ASCII byte with '?' (smtputf8_enable = no);
	// otherwise valid UTF-8 is kept.
	ASCII bool
}

// Format returns the bytes Append adds to a log for e.
func Format(e Entry, o Options) []byte {
	var b bytes.Buffer
	Printable := func(s string) string { return printable(s, !o.ASCII) }
	rcpt := "<>"
	if e.Rcpt.Address != "" {
		rcpt = Printable(QuoteLocal(e.Rcpt.Address))
	}
	b.WriteByte('\n')
	if !o.NoOldCompat {
		old := ""
		if e.Rcpt.Address != "" {
			old = rcpt
		}
		fmt.Fprintf(&b, "<%s>: %s\n", old, Printable(e.Status.Reason))
	}
	line := func(name, value string) {
		if value != "" {
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(value)
			b.WriteByte('\n')
		}
	}
	line(attrRecip, rcpt)
	if e.Rcpt.Orig != "" && !strings.EqualFold(e.Rcpt.Orig, e.Rcpt.Address) {
		line(attrOrcpt, Printable(QuoteLocal(e.Rcpt.Orig)))
	}
	if e.Rcpt.Offset > 0 {
		line(attrOffset, strconv.FormatInt(e.Rcpt.Offset, 10))
	}
	line(attrDSNOrcpt, Printable(e.Rcpt.DSNOrig))
	if e.Rcpt.Notify != 0 {
		line(attrNotify, strconv.Itoa(e.Rcpt.Notify))
	}
	st := e.Status
	line(attrStatus, Printable(st.Code))
	line(attrAction, Printable(st.Action))
	line(attrDType, Printable(st.DiagType))
	line(attrDText, Printable(st.Diag))
	line(attrMType, Printable(st.MTAType))
	line(attrMName, Printable(st.MTA))
	line(attrReason, Printable(st.Reason))
	b.WriteByte('\n')
	return b.Bytes()
}

// Append adds e to the log (queue.Bounce, queue.Defer or queue.Trace) of
// queueID with Postfix's default settings. The entry is on disk (fsync)
// when it returns nil.
func Append(l queue.Layout, log, queueID string, e Entry) error {
	return AppendOpts(l, log, queueID, e, Options{})
}

// AppendOpts is Append with the given settings.
func AppendOpts(l queue.Layout, log, queueID string, e Entry, o Options) (err error) {
	if !queue.ValidName(queueID) {
		return fmt.Errorf("malformed queue id: %s", Printable(queueID))
	}
	path := l.Path(log, queueID)
	f, err := openLog(path)
	if err != nil {
		return fmt.Errorf("open file %s %s: %w", log, queueID, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("append file %s %s: %w", log, queueID, cerr)
		}
	}()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock file %s %s: %w", log, queueID, err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("seek file %s %s: %w", log, queueID, err)
	}
	if _, err = f.Write(Format(e, o)); err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(size); terr != nil {
			return fmt.Errorf("truncate file %s %s: %w", log, queueID, terr)
		}
		return fmt.Errorf("append file %s %s: %w", log, queueID, err)
	}
	return nil
}

// openLog opens path for appending, creating it (mode 0600) and its hashed
// parent directories when missing. As root, a new file or directory is
// given to the owner of the log's top directory.
func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		return f, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := mkdirs(dir); err != nil {
		return nil, err
	}
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	chownLike(f.Name(), dir)
	// Make the new name durable too (Postfix does not; it costs one fsync
	// per log, not per entry).
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return f, nil
}

// mkdirs makes dir and missing parents (mode 0700), each owned like its
// parent when running as root.
func mkdirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return nil
	}
	if err := mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	chownLike(dir, parent)
	return nil
}

// chownLike gives path the owner and group of ref when running as root.
func chownLike(path, ref string) {
	if os.Geteuid() != 0 {
		return
	}
	var st syscall.Stat_t
	if syscall.Stat(ref, &st) == nil && st.Uid != 0 {
		_ = os.Lchown(path, int(st.Uid), int(st.Gid))
	}
}

// Remove deletes the log of queueID; a missing log is not an error.
func Remove(l queue.Layout, log, queueID string) error {
	err := os.Remove(l.Path(log, queueID))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s %s: %w", log, queueID, err)
	}
	return nil
}

// Exists reports whether queueID has a log of the given kind.
func Exists(l queue.Layout, log, queueID string) bool {
	_, err := os.Stat(l.Path(log, queueID))
	return err == nil
}

// Read returns the entries of the log of queueID, logging Postfix's
// warnings for malformed lines (msg.Warn). A missing log yields an error
// that satisfies errors.Is(err, fs.ErrNotExist).
func Read(l queue.Layout, log, queueID string) ([]Entry, error) {
	return ReadOpts(l, log, queueID, Options{})
}

// ReadOpts is Read with the given settings.
func ReadOpts(l queue.Layout, log, queueID string, o Options) ([]Entry, error) {
	f, err := os.Open(l.Path(log, queueID))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, warnings, err := Parse(f, l.RelPath(log, queueID), log, o)
	for _, w := range warnings {
		msg.Warn("%s", w)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", log, queueID, err)
	}
	if st, err := f.Stat(); err == nil {
		for i := range entries {
			entries[i].When = st.ModTime()
		}
	}
	return entries, nil
}

// Parse reads a log from r as Postfix's bounce_log_read does. path names
// the file in warnings (Postfix uses the path relative to the queue
// directory, "defer/9/97F04988064"); log is the kind of log, which gives
// the status and action of entries that have none (4.0.0 delayed for
// defer, 5.0.0 failed otherwise). Addresses are returned as the log holds
// them (external form, "<>" for the null recipient).
func Parse(r io.Reader, path, log string, o Options) ([]Entry, []string, error) {
	compatStatus, compatAction := "5.0.0", dsn.Failed
	if log == queue.Defer {
		compatStatus, compatAction = "4.0.0", dsn.Delayed
	}
	var (
		entries  []Entry
		warnings []string
		cur      Entry
		found    bool
	)
	warn := func(format string, args ...any) {
		warnings = append(warnings, fmt.Sprintf(format, args...))
	}
	finish := func() {
		if cur.Rcpt.Address == "" {
			cur.Rcpt.Address = "(recipient address unavailable)"
		}
		if cur.Status.Code == "" {
			cur.Status.Code = compatStatus
		}
		if cur.Status.Action == "" {
			cur.Status.Action = compatAction
		}
		if cur.Status.Reason == "" {
			cur.Status.Reason = "(description unavailable)"
		}
		entries = append(entries, cur)
		cur, found = Entry{}, false
	}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return entries, warnings, err
		}
		if line == "" && err != nil {
			return entries, warnings, nil // EOF: an unterminated entry is dropped
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if found {
				finish()
			}
			continue
		}
		found = true
		cp := printable(line, !o.ASCII)
		if isAlnum(cp[0]) {
			name, value, errText := splitNameVal(cp)
			if errText != "" {
				warn("%s: malformed record: %s", path, errText)
				continue
			}
			orMD := func(v string) string {
				if v == "" {
					return "(MAILER-DAEMON)"
				}
				return v
			}
			switch name {
			case attrRecip:
				cur.Rcpt.Address = orMD(value)
			case attrOrcpt:
				cur.Rcpt.Orig = orMD(value)
			case attrDSNOrcpt:
				cur.Rcpt.DSNOrig = value
			case attrNotify:
				if n := atoi(value); n > 0 && NotifyOK(int(n)) {
					cur.Rcpt.Notify = int(n)
				}
			case attrOffset:
				if n := atoi(value); n > 0 {
					cur.Rcpt.Offset = n
				}
			case attrStatus:
				cur.Status.Code = value
			case attrAction:
				cur.Status.Action = value
			case attrDType:
				cur.Status.DiagType = value
			case attrDText:
				cur.Status.Diag = value
			case attrMType:
				cur.Status.MTAType = value
			case attrMName:
				cur.Status.MTA = value
			case attrReason:
				cur.Status.Reason = value
			default:
				warn("%s: unknown attribute name: %s, ignored", path, name)
			}
			continue
		}
		// Old-style "<recipient>: text" line.
		if cp[0] != '<' {
			warn("%s: malformed record: %.30s...", path, cp)
			continue
		}
		rcpt, text, ok := strings.Cut(cp[1:], ">: ")
		if !ok {
			warn("%s: malformed record: %.30s...", path, cp)
			continue
		}
		if rcpt == "" {
			rcpt = "(MAILER-DAEMON)"
		}
		cur.Rcpt.Address = rcpt
		text = strings.TrimLeft(text, " \t\n\v\f\r")
		cur.Status.Reason = text
	}
}

// NotifyOK reports whether n is a valid set of DSN NOTIFY bits: NEVER
// alone, or any of SUCCESS, DELAY and FAILURE.
func NotifyOK(n int) bool {
	if n == dsn.NotifyNever {
		return true
	}
	return n != 0 && n&^(dsn.NotifySuccess|dsn.NotifyDelay|dsn.NotifyFailure) == 0
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }

// splitNameVal splits "name = value" as Postfix's split_nameval does,
// returning its error text for a malformed line.
func splitNameVal(s string) (name, value, errText string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return "", "", "missing attribute name"
	}
	j := i
	for j < len(s) && !isSpace(s[j]) && s[j] != '=' {
		j++
	}
	name = s[i:j]
	for j < len(s) && isSpace(s[j]) {
		j++
	}
	if j == len(s) || s[j] != '=' {
		return "", "", "missing '=' after attribute name"
	}
	value = strings.TrimRightFunc(strings.TrimLeftFunc(s[j+1:], isSpaceRune), isSpaceRune)
	return name, value, ""
}

func isSpaceRune(r rune) bool { return r < 0x80 && isSpace(byte(r)) }

// atoi converts a leading decimal number as C's atol does (0 when none).
func atoi(s string) int64 {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int64(s[i]-'0')
		if n > 1<<53 {
			break
		}
	}
	if neg {
		n = -n
	}
	return n
}

// Printable replaces control characters, DEL and malformed UTF-8 with '?',
// as Postfix's printable() does with SMTPUTF8 support on.
func Printable(s string) string { return printable(s, true) }

// Printable is the package's Printable under o's settings.
func (o Options) Printable(s string) string { return printable(s, !o.ASCII) }

// printable is Printable; without utf8 every non-ASCII byte becomes '?'.
func printable(s string, utf8ok bool) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		if c >= 0x80 && utf8ok {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError && n > 1 {
				b.WriteString(s[i : i+n])
				i += n
				continue
			}
		}
		b.WriteByte('?')
		i++
	}
	return b.String()
}

// QuoteLocal returns addr in external form: the local part (before the
// last '@') is quoted when it is not a valid RFC 822 dot-string, as
// Postfix's quote_822_local does. 8-bit characters are left alone.
func QuoteLocal(addr string) string { return QuoteLocal8(addr, true) }

// QuoteLocal8 is QuoteLocal; without eightBitClean an 8-bit character
// makes the local part quoted and is itself escaped with a backslash, as
// Postfix's quote_822_local_flags without QUOTE_FLAG_8BITCLEAN does.
func QuoteLocal8(addr string, eightBitClean bool) string {
	local, domain, at := addr, "", false
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain, at = addr[:i], addr[i+1:], true
	}
	if !needsQuote(local, eightBitClean) {
		return addr
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		if c := local[i]; c == '"' || c == '\\' || c == '\r' || c >= 0x80 && !eightBitClean {
			b.WriteByte('\\')
		}
		b.WriteByte(local[i])
	}
	b.WriteByte('"')
	if at {
		b.WriteByte('@')
		b.WriteString(domain)
	}
	return b.String()
}

// needsQuote reports whether local is not an RFC 822 dot-string.
func needsQuote(local string, eightBitClean bool) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' {
		return true
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c == '.' && i+1 < len(local) && local[i+1] == '.':
			return true
		case c >= 0x80:
			if !eightBitClean {
				return true
			}
		case c <= ' ' || c == 0x7f || strings.IndexByte(`()<>@,;:\"[]`, c) >= 0:
			return true
		}
	}
	return false
}
