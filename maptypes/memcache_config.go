package maptypes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/postfix-go/postfix/conf"
)

// The settings of a memcache: table (memcache_table(5)) come, as for
// Postfix's other database clients, from one of two places. A name that
// starts with "/" or "." is a file in main.cf syntax ("name = value",
// read with main.cf's parser, values not $-expanded); any other name is a
// prefix for main.cf parameters ("memcache:mc" reads mc_memcache,
// mc_ttl ..., $-expanded). Errors are worded as Postfix's, and are fatal
// to the caller as they are to Postfix.

// Defaults of the memcache client settings.
const (
	mcDefServer     = "inet:localhost:11211"
	mcDefKeyFormat  = "%s"
	mcDefTTL        = 3600
	mcDefTimeout    = 2
	mcDefFlags      = 0
	mcDefMaxTry     = 2
	mcDefLineLimit  = 1024
	mcDefDataLimit  = 10240
	mcDefRetryPause = 1
)

// memcacheConfig is the parsed configuration of one memcache: table.
type memcacheConfig struct {
	KeyFormat  string
	Timeout    int // seconds, for connecting, each request and each reply
	TTL        int
	Flags      int
	RetryPause int
	MaxTry     int
	LineLimit  int
	DataLimit  int
	Server     string // "inet:host:port" or "unix:path"
	Backup     string // "" for none
	Domain     string // "" for none
}

// MainConfig returns the main.cf that legacy-style memcache: tables read
// their settings from. By default it is loaded once from conf.ConfigDir();
// a command that reads its configuration from elsewhere (postmap -c)
// may point it at its own.
var MainConfig func() *conf.Config

var mainConfigOnce struct {
	once sync.Once
	cfg  *conf.Config
}

func mainConfig() *conf.Config {
	if MainConfig != nil {
		return MainConfig()
	}
	mainConfigOnce.once.Do(func() {
		c, err := conf.Load(conf.ConfigDir())
		if err != nil {
			c = conf.New(conf.ConfigDir(), nil)
		}
		mainConfigOnce.cfg = c
	})
	return mainConfigOnce.cfg
}

// cfgParser reads client settings by short name ("ttl") in either style.
type cfgParser struct {
	// file is the configuration file name, "" for the main.cf style.
	file string
	// prefix is the table name that prefixes main.cf parameter names.
	prefix string
	get    func(name string) (string, bool)
}

// isCfgFile reports whether a client table name is a settings file.
func isCfgFile(name string) bool {
	return strings.HasPrefix(name, "/") || strings.HasPrefix(name, ".")
}

// newCfgParser opens the settings of the client table name. Warnings
// about the file (overridden entries, misplaced continuation lines) go
// to warn.
func newCfgParser(name string, warn func(string)) (*cfgParser, error) {
	if !isCfgFile(name) {
		c := mainConfig()
		return &cfgParser{prefix: name, get: func(n string) (string, bool) {
			if _, ok := c.Explicit(n); !ok {
				return "", false
			}
			v, err := c.GetErr(n)
			if err != nil {
				return "", false
			}
			return v, true
		}}, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open %s: %s", name, errText(err))
	}
	return parseCfgFile(name, data, warn)
}

// parseCfgFile parses the text of a settings file.
func parseCfgFile(name string, data []byte, warn func(string)) (*cfgParser, error) {
	f, err := conf.ParseMain(name, data)
	if f != nil && warn != nil {
		for _, w := range f.Warnings {
			warn(w)
		}
	}
	if err != nil {
		return nil, err
	}
	return &cfgParser{file: name, get: f.Value}, nil
}

// param is the name a setting has where it is looked up.
func (p *cfgParser) param(name string) string {
	if p.file != "" {
		return name
	}
	return p.prefix + "_" + name
}

// where prefixes file-style error messages with the file name.
func (p *cfgParser) where() string {
	if p.file != "" {
		return p.file + ": "
	}
	return ""
}

// str returns a string setting or def.
func (p *cfgParser) str(name, def string) string {
	if v, ok := p.get(p.param(name)); ok {
		return v
	}
	return def
}

// integer returns an integer setting or def; min, when not zero, is the
// smallest value allowed.
func (p *cfgParser) integer(name string, def, min int) (int, error) {
	n := def
	if v, ok := p.get(p.param(name)); ok {
		i, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("%sbad numerical configuration: %s = %s", p.where(), p.param(name), v)
		}
		n = int(i)
	}
	if min != 0 && n < min {
		return 0, fmt.Errorf("%sinvalid %s parameter value %d < %d", p.where(), p.param(name), n, min)
	}
	return n, nil
}

// parseMemcacheConfig reads the memcache client settings in the order
// Postfix does, so that the first bad one is the one reported.
func parseMemcacheConfig(p *cfgParser) (memcacheConfig, error) {
	c := memcacheConfig{KeyFormat: p.str("key_format", mcDefKeyFormat)}
	ints := []struct {
		name     string
		def, min int
		dst      *int
	}{
		{"timeout", mcDefTimeout, 0, &c.Timeout},
		{"ttl", mcDefTTL, 0, &c.TTL},
		{"flags", mcDefFlags, 0, &c.Flags},
		{"retry_pause", mcDefRetryPause, 1, &c.RetryPause},
		{"max_try", mcDefMaxTry, 1, &c.MaxTry},
		{"line_size_limit", mcDefLineLimit, 1, &c.LineLimit},
		{"data_size_limit", mcDefDataLimit, 1, &c.DataLimit},
	}
	for _, s := range ints {
		n, err := p.integer(s.name, s.def, s.min)
		if err != nil {
			return c, err
		}
		*s.dst = n
	}
	c.Server = p.str("memcache", mcDefServer)
	if _, _, err := splitMemcacheServer(c.Server); err != nil {
		return c, err
	}
	c.Backup = p.str("backup", "")
	c.Domain = p.str("domain", "")
	return c, nil
}

// splitMemcacheServer splits "inet:host:port" or "unix:path" into a Go
// network and address.
func splitMemcacheServer(s string) (network, addr string, err error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", fmt.Errorf("need service transport:endpoint instead of \"%s\"", s)
	}
	switch kind {
	case "unix":
		return "unix", rest, nil
	case "inet":
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return "", "", fmt.Errorf("%s: garbage after numerical service", rest)
		}
		host, port := rest[:i], rest[i+1:]
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
		return "tcp", joinHostPort(host, port), nil
	}
	return "", "", fmt.Errorf("invalid transport name: %s in service: %s", kind, s)
}

func joinHostPort(host, port string) string {
	if strings.IndexByte(host, ':') >= 0 {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}
