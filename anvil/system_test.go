package anvil

import (
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/flowtest"
)

// TestUnderMaster starts our whole private mail system (internal/devconf
// lists the anvil service) and talks to the anvil that master starts on
// demand, as smtpd does; stopping the system logs anvil's statistics.
func TestUnderMaster(t *testing.T) {
	t.Parallel()
	sys := flowtest.New(t, "anvil_status_update_time = 1s\n")
	sys.Start()
	c, err := conf.Load(sys.Etc)
	if err != nil {
		t.Fatal(err)
	}
	a := NewClient(c)
	defer a.Close()
	if n, r, err := a.Connect("smtp", "192.0.2.44"); err != nil || n != 1 || r != 1 {
		t.Fatalf("connect: %d %d %v", n, r, err)
	}
	if r, err := a.Rcpt("smtp", "192.0.2.44"); err != nil || r != 1 {
		t.Fatalf("rcpt: %d %v", r, err)
	}
	line := sys.WaitLog(`postfix/anvil\[\d+\]: statistics: max connection count 1 for \(smtp:192\.0\.2\.44\) at `, 5*time.Second)
	if !strings.Contains(line, "mx postfix/anvil[") {
		t.Errorf("log line: %q", line)
	}
	sys.WaitLog(`postfix/anvil\[\d+\]: statistics: max recipient rate 1/60s for \(smtp:192\.0\.2\.44\) at `, 5*time.Second)
	if err := a.Disconnect("smtp", "192.0.2.44"); err != nil {
		t.Fatal(err)
	}
}
