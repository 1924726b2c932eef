package local

import (
	"sync"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/maptypes"
)

// lazyMaps is one of the table lists that Postfix's local opens at the
// first delivery that needs it, not when it starts: mailbox_transport_maps,
// fallback_transport_maps, mailbox_command_maps. A table that cannot be
// opened is then logged once ("error: WHY") and stands in as a table whose
// lookups log "TYPE:NAME is unavailable. WHY" and fail; a failed lookup
// adds "TYPE:NAME lookup error for "KEY"", an empty result is logged under
// the parameter's name and fails too (maptypes.Reported). The caller
// defers the recipient ("table lookup failure").
type lazyMaps struct {
	title string
	specs []string

	mu   sync.Mutex
	done bool
	raw  []maptypes.Table // as opened, for tablesChanged
	maps maptypes.Maps    // raw, reported
}

func newLazyMaps(c *conf.Config, title string) *lazyMaps {
	return &lazyMaps{title: title, specs: c.List(title)}
}

// configured says whether the parameter names any table.
func (l *lazyMaps) configured() bool { return l != nil && len(l.specs) > 0 }

// find opens the tables if need be and looks key up in each in turn.
func (l *lazyMaps) find(key string) (string, bool, error) {
	return l.get().Find(key, false)
}

func (l *lazyMaps) get() maptypes.Maps {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.done = true
		for _, spec := range l.specs {
			t := maptypes.OpenOrUnavailable(spec, maptypes.Default, maillog.Error, maillog.Warn)
			typ, _ := maptypes.SplitSpec(spec, "")
			l.raw = append(l.raw, t)
			l.maps = append(l.maps, maptypes.Map{
				Table: maptypes.Reported(t, spec, l.title, maillog.Warn),
				Fixed: maptypes.IsFixed(typ),
			})
		}
	}
	return l.maps
}

// opened returns the tables opened so far.
func (l *lazyMaps) opened() []maptypes.Table {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw
}
