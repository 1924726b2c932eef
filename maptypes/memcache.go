package maptypes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// memcache:CONFIG is Postfix's memcache client (memcache_table(5)): keys
// are looked up, stored and deleted with the memcache text protocol
// ("get", "set", "delete") on one server, "inet:host:port" or
// "unix:path", over a connection kept open between requests. An
// optional backup table is consulted when the memcache has no entry (the
// entry found there is then stored in the memcache), and is updated and
// listed along with it. A key that does not fit the settings (empty, its
// domain not in "domain", the key_format expansion empty or holding white
// space) is not looked up. A server that fails is tried max_try times,
// retry_pause seconds apart, except when it accepts no connection;
// without a backup table a failure is a temporary error (ErrRetry), with
// one the backup table's answer counts, as in Postfix.

func init() {
	Register("memcache", openMemcache)
	registerFixed("memcache")
}

type memcacheTable struct {
	name   string
	cfg    memcacheConfig
	tmpl   *keyTemplate
	domain *domainList
	flags  OpenFlags
	backup Table

	mu     sync.Mutex
	client *mcClient
}

func openMemcache(name string, flags OpenFlags) (Table, error) {
	p, err := newCfgParser(name, func(s string) { TableWarn(s) })
	if err != nil {
		return nil, err
	}
	cfg, err := parseMemcacheConfig(p)
	if err != nil {
		return nil, err
	}
	t := &memcacheTable{name: name, cfg: cfg, flags: flags}
	if cfg.Backup != "" {
		if t.backup, err = Open(cfg.Backup, flags); err != nil {
			return nil, err
		}
		_, u := t.backup.(Updater)
		_, d := t.backup.(Deleter)
		if flags&Write != 0 && !u && !d {
			t.backup.Close()
			return nil, errors.New(cfg.Backup + " map requires O_RDONLY access mode")
		}
	}
	if t.tmpl, err = parseKeyTemplate(name, cfg.KeyFormat); err != nil {
		t.Close()
		return nil, err
	}
	if cfg.Domain != "" {
		if t.domain, err = newDomainList(cfg.Domain, flags); err != nil {
			t.Close()
			return nil, err
		}
	}
	t.client = newMCClient(cfg)
	return t, nil
}

// mcKey returns the memcache key for key; why says why there is none.
func (t *memcacheTable) mcKey(key string) (mk, why string) {
	if key == "" {
		return "", "empty lookup key"
	}
	if t.domain != nil && !t.domain.matchAddress(key) {
		return "", "domain mismatch"
	}
	folded := fixedFold(key, t.flags)
	if t.cfg.KeyFormat == mcDefKeyFormat {
		mk = folded
	} else {
		var ok bool
		if mk, ok = t.tmpl.expand(folded); !ok {
			mk = ""
		}
	}
	if mk == "" {
		return "", "empty lookup key expansion"
	}
	for i := 0; i < len(mk); i++ {
		if c := mk[i]; c < 0x80 && isBlank(c) {
			return "", "name contains space"
		}
	}
	return mk, ""
}

func (t *memcacheTable) Lookup(key string) (string, bool, error) {
	mk, why := t.mcKey(key)
	if why != "" {
		return "", false, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	v, found, err := t.client.get(t.name, mk)
	if found || t.backup == nil {
		return v, found, err
	}
	v, found, err = t.backup.Lookup(key)
	if found {
		t.set(mk, v)
	}
	return v, found, err
}

// set stores value in the memcache; failures are warned about only.
func (t *memcacheTable) set(mk, value string) error {
	if len(value) > t.cfg.DataLimit {
		Warn(fmt.Sprintf("database memcache:%s: data for key %s is too long (data_size_limit=%d) -- not stored",
			t.name, mk, t.cfg.DataLimit))
		return retryf("data too long")
	}
	return t.client.set(t.name, mk, value)
}

// Update stores key=value in the memcache and then in the backup table.
// A key that does not fit the settings is skipped with a warning.
func (t *memcacheTable) Update(key, value string) (bool, error) {
	mk, why := t.mcKey(key)
	if why != "" {
		Warn(fmt.Sprintf("%s: skipping update for name \"%s\": %s", t.name, key, why))
		return false, retryf("skipping update for name \"" + key + "\": " + why)
	}
	t.mu.Lock()
	err := t.set(mk, value)
	t.mu.Unlock()
	if t.backup == nil {
		return false, err
	}
	u, ok := t.backup.(Updater)
	if !ok {
		return false, fmt.Errorf("table %s: update: %w", t.cfg.Backup, ErrNotSupported)
	}
	return u.Update(key, value)
}

// Delete removes key from the memcache and then from the backup table.
func (t *memcacheTable) Delete(key string) (bool, error) {
	mk, why := t.mcKey(key)
	if why != "" {
		return false, nil
	}
	t.mu.Lock()
	found, err := t.client.del(t.name, mk)
	t.mu.Unlock()
	if t.backup == nil {
		return found, err
	}
	d, ok := t.backup.(Deleter)
	if !ok {
		return false, fmt.Errorf("table %s: delete: %w", t.cfg.Backup, ErrNotSupported)
	}
	return d.Delete(key)
}

// Sequence lists the backup table; without one it warns and lists
// nothing, as Postfix does.
func (t *memcacheTable) Sequence(fn func(key, value string) bool) error {
	if t.backup == nil {
		Warn("database memcache:" + t.name + ": first/next support requires backup database")
		return nil
	}
	s, ok := t.backup.(Sequencer)
	if !ok {
		return ErrNotSupported
	}
	return s.Sequence(fn)
}

func (t *memcacheTable) Close() error {
	t.mu.Lock()
	if t.client != nil {
		t.client.close()
	}
	t.mu.Unlock()
	if t.backup != nil {
		return t.backup.Close()
	}
	return nil
}

// domainList is a database client's "domain" setting: domain names,
// "/file" names (of files holding more names) and "type:table" tables,
// each possibly negated with "!"; the first that matches decides.
type domainList struct {
	items []domainItem
}

type domainItem struct {
	negate bool
	name   string // a folded domain name, or "" for a table
	table  Table
}

func newDomainList(spec string, flags OpenFlags) (*domainList, error) {
	l := &domainList{}
	if err := l.add(spec, flags, 0); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *domainList) add(spec string, flags OpenFlags, depth int) error {
	for _, tok := range strings.FieldsFunc(spec, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}) {
		negate := false
		for strings.HasPrefix(tok, "!") {
			negate = !negate
			tok = tok[1:]
		}
		switch {
		case strings.HasPrefix(tok, "/") && depth < 10:
			data, err := readFileText(tok)
			if err != nil {
				return err
			}
			if err := l.add(data, flags, depth+1); err != nil {
				return err
			}
		case strings.Contains(tok, ":"):
			t, err := Open(tok, flags&^Write)
			if err != nil {
				return err
			}
			l.items = append(l.items, domainItem{negate: negate, table: t})
		case tok != "":
			l.items = append(l.items, domainItem{negate: negate, name: strings.ToLower(tok)})
		}
	}
	return nil
}

// matchAddress reports whether key is user@domain with a non-empty local
// part and a domain the list accepts.
func (l *domainList) matchAddress(key string) bool {
	i := strings.LastIndexByte(key, '@')
	if i <= 0 {
		return false
	}
	domain := key[i+1:]
	for _, it := range l.items {
		var hit bool
		if it.table != nil {
			_, found, err := it.table.Lookup(domain)
			if err != nil {
				return false
			}
			hit = found
		} else {
			hit = strings.EqualFold(it.name, domain)
		}
		if hit {
			return !it.negate
		}
	}
	return false
}

// mcClient is one memcache server connection, opened on demand.
type mcClient struct {
	cfg  memcacheConfig
	conn *mcConn
}

func newMCClient(cfg memcacheConfig) *mcClient { return &mcClient{cfg: cfg} }

var mcRetryPause = func(c memcacheConfig) time.Duration { return time.Duration(c.RetryPause) * time.Second }

// errMCProto is a reply that does not follow the protocol.
var errMCProto = errors.New("protocol error")

// readFileText returns a file's contents for a "/file" list entry.
func readFileText(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("open %s: %s", path, errText(err))
	}
	return string(data), nil
}
