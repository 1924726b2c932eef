package proxymap

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/maptypes"
)

// TestDaemonClientStaleSocket: a daemon (working directory
// queue_directory) that finds private/proxymap but cannot connect warns
// as Postfix's client does and, after maptypes.ProxyTries attempts,
// fails with a temporary error instead of reading the table itself. It
// runs in a child process because a daemon's state is process-wide.
func TestDaemonClientStaleSocket(t *testing.T) {
	if os.Getenv("PROXYMAP_DAEMON_CHILD") != "" {
		daemonChild()
		return
	}
	q := t.TempDir()
	if err := os.MkdirAll(filepath.Join(q, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln := listen(t, filepath.Join(q, "private", "proxymap"), nil)
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDaemonClientStaleSocket$")
	cmd.Dir = q
	cmd.Env = append(os.Environ(), "PROXYMAP_DAEMON_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	want := "warning: private/proxymap: service dict_proxy_open: Connection refused\n" +
		"warning: private/proxymap: service dict_proxy_open: Connection refused\n" +
		"open: retry: proxymap service is not available\n"
	if got := string(out); !strings.HasPrefix(got, want) {
		t.Errorf("child printed:\n%s\nwant:\n%s", got, want)
	}
}

func daemonChild() {
	ipc.SetInQueueDir()
	maptypes.ProxyTries = 2
	maptypes.Warn = func(s string) { fmt.Println("warning: " + s) }
	_, err := maptypes.Open("proxy:inline:{a=1}", maptypes.Default)
	switch {
	case errors.Is(err, maptypes.ErrRetry):
		fmt.Println("open: retry: " + err.Error())
	default:
		fmt.Printf("open: %v\n", err)
	}
}
