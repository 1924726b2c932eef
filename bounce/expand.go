package bounce

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// timeParams are the parameters a template may name with a time unit
// suffix ($delay_warning_time_hours), as bounce(5) describes.
var timeParams = []string{"delay_warning_time", "maximal_queue_lifetime"}

// timeUnits are the suffixes and their divisors in seconds.
var timeUnits = []struct {
	suffix string
	secs   int64
}{{"seconds", 1}, {"minutes", 60}, {"hours", 3600}, {"days", 86400}, {"weeks", 604800}}

// Expander expands the $name references of template text as the bounce
// daemon does: main.cf parameters (values already expanded, characters
// other than printable ASCII, space and tab replaced by '_'), and the time
// parameters of bounce(5) with a unit suffix.
type Expander struct {
	// Lookup returns the expanded value of a main.cf parameter.
	Lookup func(name string) (string, bool)
	// Times holds the values of delay_warning_time and
	// maximal_queue_lifetime.
	Times map[string]time.Duration
	// Warn receives warnings (without "warning: ").
	Warn func(format string, args ...any)
}

// NewExpander returns an Expander over c.
func NewExpander(c *conf.Config, warn func(string, ...any)) *Expander {
	return &Expander{
		Lookup: func(name string) (string, bool) {
			if _, ok := c.Raw(name); !ok {
				return "", false
			}
			return c.Get(name), true
		},
		Times: map[string]time.Duration{
			"delay_warning_time":     c.Time("delay_warning_time", 'h'),
			"maximal_queue_lifetime": c.Time("maximal_queue_lifetime", 'd'),
		},
		Warn: warn,
	}
}

// filterValue replaces the characters the daemon does not allow in an
// expanded value.
func filterValue(v string) string {
	b := []byte(v)
	for i, c := range b {
		if c != '\t' && (c < ' ' || c > '~') {
			b[i] = '_'
		}
	}
	return string(b)
}

// timeValue scales a time parameter by its suffix; ok is false when name
// is not a time parameter with a suffix. An unknown suffix is an error.
func (x *Expander) timeValue(name string, t *Template) (string, bool, error) {
	kind, origin := t.Kind, t.Origin
	for _, p := range timeParams {
		rest, found := strings.CutPrefix(name, p+"_")
		if !found {
			continue
		}
		secs := int64(x.Times[p] / time.Second)
		for _, u := range timeUnits {
			if rest != u.suffix {
				continue
			}
			result := secs / u.secs
			if result > 999 && u.secs < 86400 {
				x.warn("%s: excessive result \"%d\" in %s template conversion of parameter \"%s\"", origin, result, kind, name)
				x.warn("please increase time unit \"%s\" of \"%s\" in %s template", u.suffix, name, kind)
				x.warn("for instructions see the bounce(5) manual")
			} else if result == 0 && secs != 0 && u.secs > 1 {
				x.warn("%s: zero result in %s template conversion of parameter \"%s\"", origin, kind, name)
				x.warn("please reduce time unit \"%s\" of \"%s\" in %s template", u.suffix, name, kind)
				x.warn("for instructions see the bounce(5) manual")
			}
			return strconv.FormatInt(result, 10), true, nil
		}
		return "", false, fmt.Errorf("%s: unrecognized suffix \"%s\" in parameter \"%s\"", origin, rest, name)
	}
	return "", false, nil
}

func (x *Expander) warn(format string, args ...any) {
	if x.Warn != nil {
		x.Warn(format, args...)
	}
}

// Expand returns the lines of t's text with $name references replaced.
// An undefined name or bad syntax is an error worded as Postfix's fatal
// message.
func (x *Expander) Expand(t *Template) ([]string, error) {
	origin := t.Origin
	text := strings.TrimSuffix(t.Text, "\n")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		var lookupErr error
		undefined := false
		ex := &conf.Expander{
			NoRecurse: true,
			Lookup: func(name string) (string, bool) {
				v, ok, err := x.timeValue(name, t)
				if err != nil {
					lookupErr = err
					return "", true
				}
				if ok {
					return v, true
				}
				v, ok = x.Lookup(name)
				if !ok {
					undefined = true
					return "", false
				}
				return filterValue(v), true
			},
		}
		v, err := ex.Expand(line)
		switch {
		case lookupErr != nil:
			return nil, lookupErr
		case err != nil:
			return nil, fmt.Errorf("%s: bad $name syntax in %s template: %s", origin, t.Kind, line)
		case undefined:
			return nil, fmt.Errorf("%s: undefined $name in %s template: %s", origin, t.Kind, line)
		}
		out = append(out, v)
	}
	return out, nil
}
