package rewrite

import (
	"strings"
	"sync"
	"time"

	"github.com/postfix-go/postfix/maptypes"
)

// transportInfo is an open transport_maps with its "*" wild-card entry,
// which is looked up again every 30 seconds (as Postfix does).
type transportInfo struct {
	maps   maptypes.Maps
	search maptypes.Search

	mu         sync.Mutex
	expire     time.Time
	wildErr    error
	wildFound  bool
	wildChan   string
	wildNexthp string
}

// newTransportInfo looks the "*" entry up at once, as Postfix's
// trivial-rewrite does when it starts (a failing table is logged then).
func newTransportInfo(m maptypes.Maps, s maptypes.Search) *transportInfo {
	t := &transportInfo{maps: m, search: s}
	t.lookupWildcard()
	return t
}

// update applies a table value "transport:nexthop" to channel and nexthop:
// an empty transport keeps the channel (and the nexthop unless one is
// given); a new transport resets the nexthop to the recipient domain
// unless one is given (for error, to a generic text).
func updateEntry(value, rcptDomain string, channel, nexthop *string) {
	newChan, newHop, _ := strings.Cut(value, ":")
	if newChan == "" {
		if newHop != "" {
			*nexthop = newHop
		}
		return
	}
	*channel = newChan
	switch {
	case newHop != "":
		*nexthop = newHop
	case newChan != "error":
		*nexthop = rcptDomain
	default:
		*nexthop = "Address is undeliverable"
	}
}

// find looks key up (fixed tables only when partial) and applies it.
func (t *transportInfo) find(key, rcptDomain string, partial bool, channel, nexthop *string) (bool, error) {
	v, ok, err := t.maps.Find(key, partial)
	if err != nil || !ok {
		return false, err
	}
	updateEntry(v, rcptDomain, channel, nexthop)
	return true, nil
}

// lookup searches the transport table for addr in transport(5) order:
// the full address (every table), the address without its extension,
// the domain and its parents (fixed tables only), then "*".
func (t *transportInfo) lookup(addr, rcptDomain string, channel, nexthop *string) (bool, error) {
	if addr == "" {
		return false, nil
	}
	at := strings.LastIndexByte(addr, '@')
	if ok, err := t.find(addr, rcptDomain, false, channel, nexthop); ok || err != nil {
		return ok, err
	}
	local := addr[:at]
	if user, ext := t.search.SplitExtension(local); ext != "" {
		if ok, err := t.find(user+addr[at:], rcptDomain, true, channel, nexthop); ok || err != nil {
			return ok, err
		}
	}
	for name := addr[at+1:]; name != ""; {
		if ok, err := t.find(name, rcptDomain, true, channel, nexthop); ok || err != nil {
			return ok, err
		}
		i := strings.IndexByte(name[1:], '.')
		if i < 0 {
			break
		}
		name = name[1+i:]
		if t.search.ParentMatches {
			name = name[1:]
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wildErr != nil || time.Now().After(t.expire) {
		t.lookupWildcard()
	}
	if t.wildErr != nil {
		return false, t.wildErr
	}
	if t.wildFound {
		updateEntry(t.wildChan+":"+t.wildNexthp, rcptDomain, channel, nexthop)
		return true, nil
	}
	return false, nil
}

// lookupWildcard looks the "*" entry up again; t.mu is held, or t not yet
// shared.
func (t *transportInfo) lookupWildcard() {
	var ch, hop string
	ok, err := t.find("*", "", false, &ch, &hop)
	t.wildErr, t.wildFound, t.wildChan, t.wildNexthp = err, ok, ch, hop
	t.expire = time.Now().Add(30 * time.Second)
}
