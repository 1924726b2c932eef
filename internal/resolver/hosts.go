package resolver

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// Hosts is the content of a hosts file.
type Hosts struct {
	Entries []HostsEntry
}

// HostsEntry is one valid line of a hosts file.
type HostsEntry struct {
	Line  int
	Addr  netip.Addr
	Names []string // canonical name first, then aliases
}

// ParseHosts parses hosts(5) text: an address, a canonical name and
// aliases per line, "#" starting a comment. Lines the C library would
// skip are skipped; each skipped line gets a warning "FILE, line N: ...".
func ParseHosts(file, text string) (*Hosts, []string) {
	h := &Hosts{}
	var warns []string
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			warns = append(warns, fmt.Sprintf("%s, line %d: bad address %q: line skipped", file, n, f[0]))
			continue
		}
		if len(f) < 2 {
			warns = append(warns, fmt.Sprintf("%s, line %d: address %s without a name: line skipped", file, n, f[0]))
			continue
		}
		h.Entries = append(h.Entries, HostsEntry{Line: n, Addr: a, Names: f[1:]})
	}
	return h, warns
}

// Lookup returns the addresses of every line naming name (case-insensitive,
// a trailing dot ignored), in file order. An IPv4-mapped IPv6 address
// counts as IPv4, as the C library treats it.
func (h *Hosts) Lookup(name string) []netip.Addr {
	name = strings.TrimSuffix(name, ".")
	var out []netip.Addr
	for _, e := range h.Entries {
		for _, n := range e.Names {
			if strings.EqualFold(strings.TrimSuffix(n, "."), name) {
				out = append(out, e.Addr.Unmap())
				break
			}
		}
	}
	return out
}

// Reverse returns the canonical name of the first line listing addr.
func (h *Hosts) Reverse(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	for _, e := range h.Entries {
		if e.Addr.Unmap() == addr {
			return e.Names[0], true
		}
	}
	return "", false
}

// hostsFile keeps a hosts file, re-read when it changes.
type hostsFile struct {
	path  string
	mu    sync.Mutex
	mtime time.Time
	size  int64
	h     *Hosts
}

func openHosts(path string) *hostsFile {
	f := &hostsFile{path: path, h: &Hosts{}}
	f.get()
	return f
}

// get returns the current content; when the file cannot be read (chroot
// jail) the last content read stays.
func (f *hostsFile) get() *Hosts {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil || (st.ModTime().Equal(f.mtime) && st.Size() == f.size) {
		return f.h
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return f.h
	}
	f.h, _ = ParseHosts(f.path, string(data))
	f.mtime, f.size = st.ModTime(), st.Size()
	return f.h
}
