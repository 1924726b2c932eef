package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/postfix-go/postfix/internal/msg"
)

// DefaultConfigDir is where Postfix looks for main.cf and master.cf.
const DefaultConfigDir = "/etc/postfix"

// ConfigDir returns the configuration directory a command uses when it was
// given no -c option: $MAIL_CONFIG when set, else /etc/postfix.
func ConfigDir() string {
	if d := os.Getenv("MAIL_CONFIG"); d != "" {
		return d
	}
	return DefaultConfigDir
}

// Config is main.cf as a daemon or command sees it: overrides (-o, or a
// master.cf service's -o), then the file, then the defaults, with $name
// expansion done on demand.
type Config struct {
	// Dir is the configuration directory (config_directory).
	Dir string
	// File is the parsed main.cf; nil when there was none.
	File *MainFile
	// overrides win over the file; extra holds defaults that are not
	// built in (per-service parameters derived from master.cf).
	overrides map[string]string
	extra     map[string]string
}

// New makes a Config from a parsed main.cf (nil for none).
func New(dir string, f *MainFile) *Config {
	return &Config{Dir: dir, File: f, overrides: map[string]string{}, extra: map[string]string{}}
}

// Load reads dir/main.cf over the built-in defaults. Its warnings are
// printed through msg; a syntax error is returned. A missing main.cf is
// an error, as it is for Postfix.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, "main.cf")
	f, err := ReadMain(path)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return nil, err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open %s: No such file or directory", path)
		}
		return nil, fmt.Errorf("open %s: %v", path, err)
	}
	for _, w := range f.Warnings {
		msg.Warn("%s", w)
	}
	c := New(dir, f)
	if dir != DefaultConfigDir {
		c.overrides["config_directory"] = dir
	}
	return c, nil
}

// Set overrides name for this Config (as "-o name=value" does).
func (c *Config) Set(name, value string) { c.overrides[name] = value }

// SetDefault adds a default for a parameter that is not built in, such as
// a per-service parameter derived from master.cf.
func (c *Config) SetDefault(name, value string) { c.extra[name] = value }

// WithService returns the view of c that the daemon of one master.cf
// service sees: its -o overrides applied, and $service_name and
// $process_name defined.
func (c *Config) WithService(service, process string, params [][2]string) *Config {
	n := &Config{Dir: c.Dir, File: c.File, overrides: map[string]string{}, extra: c.extra}
	for k, v := range c.overrides {
		n.overrides[k] = v
	}
	for _, p := range params {
		n.overrides[p[0]] = p[1]
	}
	n.overrides["service_name"] = service
	n.overrides["process_name"] = process
	return n
}

// Explicit returns the value set by an override or main.cf, if any.
func (c *Config) Explicit(name string) (string, bool) {
	if v, ok := c.overrides[name]; ok {
		return v, true
	}
	return c.File.Value(name)
}

// Default returns the default of name: built-in, computed, or added with
// SetDefault.
func (c *Config) Default(name string) (string, bool) {
	if p, ok := LookupParam(name); ok {
		if p.Computed {
			v, err := ComputedDefaultFunc(name, c.Get, c.explicitExpanded)
			if err != nil {
				msg.Fatal("%v", err)
			}
			return v, true
		}
		return p.Default, true
	}
	v, ok := c.extra[name]
	return v, ok
}

// explicitExpanded returns the expanded value of name when an override
// or main.cf sets it.
func (c *Config) explicitExpanded(name string) (string, bool) {
	if _, ok := c.Explicit(name); !ok {
		return "", false
	}
	return c.Get(name), true
}

// Raw returns the unexpanded value of name.
func (c *Config) Raw(name string) (string, bool) {
	if v, ok := c.Explicit(name); ok {
		return v, true
	}
	return c.Default(name)
}

// Expander returns an Expander over this configuration.
func (c *Config) Expander() *Expander {
	return &Expander{Lookup: c.Raw, Warn: func(s string) { msg.Warn("%s", s) }}
}

// GetErr returns the expanded value of name ("" when unknown). Parameters
// that Postfix expands later with its own variables (Param.Raw, such as
// mailbox_command) are returned as they are.
func (c *Config) GetErr(name string) (string, error) {
	v, ok := c.Raw(name)
	if !ok {
		return "", nil
	}
	if p, ok := LookupParam(name); ok && p.Raw {
		return v, nil
	}
	return c.Expander().Expand(v)
}

// Get returns the expanded value of name, "" when unknown. A value that
// cannot be expanded is fatal, as in Postfix daemons.
func (c *Config) Get(name string) string {
	v, err := c.GetErr(name)
	if err != nil {
		msg.Fatal("%s: %v", name, err)
	}
	return v
}

// Expand expands $name references in text against this configuration.
func (c *Config) Expand(text string) string {
	v, err := c.Expander().Expand(text)
	if err != nil {
		msg.Fatal("%v", err)
	}
	return v
}

// Bool returns a yes/no parameter; a bad value is fatal as in Postfix.
func (c *Config) Bool(name string) bool {
	b, err := ParseBool(c.Get(name))
	if err != nil {
		fatalValue(name, err)
	}
	return b
}

// Int returns an integer parameter; a bad value is fatal.
func (c *Config) Int(name string) int {
	n, err := ParseInt(c.Get(name))
	if err != nil {
		fatalValue(name, err)
	}
	return n
}

// Time returns a time parameter; defUnit is used when the value has no
// unit suffix (Postfix's default unit for that parameter).
func (c *Config) Time(name string, defUnit byte) time.Duration {
	d, err := ParseTime(c.Get(name), defUnit)
	if err != nil {
		fatalValue(name, err)
	}
	return d
}

// Long returns a long (size) parameter; a bad value is fatal.
func (c *Config) Long(name string) int64 {
	n, err := ParseLong(c.Get(name))
	if err != nil {
		fatalValue(name, err)
	}
	return n
}

func fatalValue(name string, err error) {
	var ve *ValueError
	if errors.As(err, &ve) {
		msg.Fatal("%s", ve.Fatal(name))
	}
	msg.Fatal("%s: %v", name, err)
}

// List returns a list parameter split as Postfix splits lists.
func (c *Config) List(name string) []string { return SplitList(c.Get(name)) }
