package conf

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// TestForServiceReusesMynetworks: a service's view takes main.cf's
// computed mynetworks instead of listing the interfaces again, unless its
// -o settings change what mynetworks is computed from.
func TestForServiceReusesMynetworks(t *testing.T) {
	calls := 0
	old := interfaceAddrs
	interfaceAddrs = func() ([]ifaceAddr, error) {
		calls++
		a := netip.MustParseAddr("192.0.2.7")
		return []ifaceAddr{{addr: a, prefix: netip.PrefixFrom(a, 24).Masked()}}, nil
	}
	defer func() { interfaceAddrs = old }()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("mynetworks_style = subnet\ninet_protocols = ipv4\n"), 0644)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Load listed the interfaces %d times", calls)
	}
	want := "192.0.2.0/24"
	if got := c.Get("mynetworks"); got != want {
		t.Fatalf("mynetworks %q, want %q", got, want)
	}
	s := c.ForService(&MasterEntry{Service: "smtp", Type: "inet", Command: "smtpd",
		Params: []MasterParam{{Name: "smtpd_tls_security_level", Value: "may"}}})
	if got := s.Get("mynetworks"); got != want || calls != 1 {
		t.Errorf("plain service: mynetworks %q after %d listings", got, calls)
	}
	s = c.ForService(&MasterEntry{Service: "submission", Type: "inet", Command: "smtpd",
		Params: []MasterParam{{Name: "mynetworks_style", Value: "host"}}})
	if got := s.Get("mynetworks"); got != "192.0.2.7/32" || calls != 2 {
		t.Errorf("service with its own mynetworks_style: mynetworks %q after %d listings", got, calls)
	}
}
