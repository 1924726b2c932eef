// Package testutil builds the project's commands for tests and runs them
// side by side with Debian's Postfix programs, so differential tests compare
// both on the same input.
package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// Root returns the module's top directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Bin builds every command under cmd/ once per test process and returns the
// path of the named one, in a BuildDir, so a long series of test runs does
// not fill the disk.
func Bin(t testing.TB, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = BuildDir("pfgo-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./cmd/...")
		cmd.Dir = Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building commands: %v\n%s", buildErr, buildOut)
	}
	p := filepath.Join(binDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("command %s was not built: %v", name, err)
	}
	return p
}

// BuildDir makes a directory for what a test process builds once and
// shares between its tests (programs, daemons): $TMPDIR/PREFIXPID-*. A test
// process has no hook to remove it when it ends, so BuildDir first removes
// the PREFIX directories of processes that are gone.
func BuildDir(prefix string) (string, error) {
	removeStale(os.TempDir(), prefix)
	return os.MkdirTemp("", fmt.Sprintf("%s%d-", prefix, os.Getpid()))
}

// removeStale removes dir's PREFIXPID-* directories whose process no
// longer exists, and those of the older form without a process id
// (PREFIXN) once they are an hour old.
func removeStale(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || !e.IsDir() {
			continue
		}
		pid, _, named := strings.Cut(rest, "-")
		if named {
			if _, err := os.Stat(filepath.Join("/proc", pid)); err == nil {
				continue
			}
		} else if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Hour {
			continue
		}
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// Reference returns the path of Debian's Postfix program (for example
// "/usr/sbin/postconf"). The test fails when it is missing: `make test`
// installs it, and a differential test that silently skipped could not fail.
func Reference(t testing.TB, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skipf("reference %s missing and PFGO_NO_REFERENCE set", path)
		}
		t.Fatalf("reference program %s is missing; run `make test` as root to install Postfix 3.7", path)
	}
	return path
}

// Result is what one run of a program produced.
type Result struct {
	Stdout, Stderr string
	Exit           int
	// Pid is the process id the program ran as.
	Pid int
}

// Run runs path with argv[0] set to argv0 (so that diagnostics, which start
// with argv[0], read the same for both programs), in dir, with stdin.
func Run(t testing.TB, dir, path, argv0 string, stdin []byte, args ...string) Result {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Args[0] = argv0
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LANG=C", "LC_ALL=C", "TZ=UTC")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("running %s: %v", path, err)
		}
	}
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	return Result{Stdout: so.String(), Stderr: se.String(), Exit: code, Pid: pid}
}
