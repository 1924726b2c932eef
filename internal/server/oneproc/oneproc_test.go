package oneproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if os.Getenv("ONEPROC_CHILD") != "" {
		fmt.Print(runtime.GOMAXPROCS(0))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOnlyUnderMaster runs this test binary again with and without
// master's GENERATION and a GOMAXPROCS of its own.
func TestOnlyUnderMaster(t *testing.T) {
	// Without GENERATION the child keeps the runtime's default, which is
	// this process's own.
	def := fmt.Sprint(runtime.GOMAXPROCS(0))
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"GENERATION=1"}, "1"},
		{[]string{"GENERATION=1", "GOMAXPROCS=3"}, "3"},
		{nil, def},
	} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append([]string{"ONEPROC_CHILD=1"}, c.env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%v: GOMAXPROCS %s, want %s", c.env, got, c.want)
		}
	}
}
