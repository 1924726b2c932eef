package rewrite

import "testing"

// A proxy: table is as fixed as the table behind it: transport_maps
// through proxymap is searched by domain, as the same table read
// directly is.
func TestEngineProxyTableFixed(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{"texthash:@ETC@/transport", "proxy:texthash:@ETC@/transport"} {
		s := newSysDir(t, "transport_maps = "+spec+"\n", map[string]string{"transport": "a.example relay:[gw.example]\n"})
		e := NewEngine(s.config(t), func(string, ...any) {})
		r := e.Resolve("", "u@a.example")
		e.Close()
		if r.Transport != "relay" || r.Nexthop != "[gw.example]" {
			t.Errorf("%s: Resolve = %+v, want relay:[gw.example]", spec, r)
		}
	}
}
