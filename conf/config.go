package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	// overrides win over the file.
	overrides map[string]string
	// computed caches machine-dependent defaults; computing is set while
	// one is being worked out (a reference from it to another one that
	// is not known yet is empty, as in Postfix, instead of a loop).
	computed  map[string]string
	computing bool
}

// New makes a Config from a parsed main.cf (nil for none).
func New(dir string, f *MainFile) *Config {
	return &Config{Dir: dir, File: f, overrides: map[string]string{},
		computed: map[string]string{}}
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
	c.Warm()
	return c, nil
}

// Warm works out the machine-dependent defaults (myhostname, mydomain,
// mynetworks) now, in Postfix's order, so that later lookups are plain
// reads; a Config is safe for concurrent reads once warm and no longer
// changed.
func (c *Config) Warm() {
	for _, name := range []string{"mynetworks", "myhostname", "mydomain", "process_id", "process_name"} {
		c.Default(name)
	}
}

// Set overrides name for this Config (as "-o name=value" does).
func (c *Config) Set(name, value string) { c.overrides[name] = value }

// withService returns the view of c that the daemon of one master.cf
// service sees: its -o overrides applied, and $service_name and
// $process_name defined.
func (c *Config) withService(service, process string, params [][2]string) *Config {
	n := &Config{Dir: c.Dir, File: c.File, overrides: map[string]string{},
		computed: map[string]string{}}
	for k, v := range c.overrides {
		n.overrides[k] = v
	}
	for _, p := range params {
		n.overrides[p[0]] = p[1]
	}
	n.overrides["service_name"] = service
	n.overrides["process_name"] = process
	n.reuseMynetworks(c)
	n.Warm()
	return n
}

// reuseMynetworks takes parent's computed mynetworks when the parameters
// it is computed from read the same in c: listing the machine's
// interfaces is the costliest part of a daemon's start-up configuration,
// and the result could only differ if the interfaces changed in the
// microseconds between the two views.
func (c *Config) reuseMynetworks(parent *Config) {
	v, ok := parent.computed["mynetworks"]
	if !ok {
		return
	}
	for _, name := range []string{"mynetworks_style", "inet_interfaces", "inet_protocols"} {
		if c.Get(name) != parent.Get(name) {
			return
		}
	}
	c.computed["mynetworks"] = v
}

// Explicit returns the value set by an override or main.cf, if any.
func (c *Config) Explicit(name string) (string, bool) {
	if v, ok := c.overrides[name]; ok {
		return v, true
	}
	return c.File.Value(name)
}

// Default returns the built-in default of name, computing it if Postfix
// computes it.
func (c *Config) Default(name string) (string, bool) {
	if p, ok := LookupParam(name); ok {
		if p.Computed {
			if v, ok := c.computed[name]; ok {
				return v, true
			}
			if c.computing {
				return "", true
			}
			c.computing = true
			v, err := ComputedDefaultFunc(name, c.Get, c.explicitExpanded)
			c.computing = false
			if err != nil {
				msg.Fatal("%v", err)
			}
			c.computed[name] = v
			return v, true
		}
		return p.Default, true
	}
	return "", false
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
		fatalMacro(err)
	}
	return v
}

// Expand expands $name references in text against this configuration.
func (c *Config) Expand(text string) string {
	v, err := c.Expander().Expand(text)
	if err != nil {
		fatalMacro(err)
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

// ForService returns the view of main.cf that the daemon of a master.cf
// entry sees: the entry's -o settings applied, $service_name set to the
// service name and $process_name to the command's name.
func (c *Config) ForService(e *MasterEntry) *Config {
	params := make([][2]string, 0, len(e.Params))
	for _, p := range e.Params {
		params = append(params, [2]string{p.Name, p.Value})
	}
	process := e.Command
	if f := strings.Fields(process); len(f) > 0 {
		process = filepath.Base(f[0])
	}
	return c.withService(e.Service, process, params)
}

// fatalMacro ends a program whose configuration cannot be expanded, with
// Postfix's words.
func fatalMacro(err error) {
	var ce *ConversionError
	if errors.As(err, &ce) {
		msg.Fatal("%s", ce.Error())
	}
	msg.Fatal("dictionary mail_dict: macro processing error")
}

// FilePath names a file in the configuration directory the way Postfix
// does, by plain concatenation ("." gives "./main.cf"), so that messages
// match Postfix's.
func FilePath(dir, file string) string { return dir + "/" + file }
