package server

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
)

// Profiling: when the environment holds PFGO_CPUPROFILE=DIR (pass it with
// import_environment in main.cf), each daemon writes a Go CPU profile of
// its whole life to DIR/NAME.PID.prof, for `go tool pprof`. It is a
// developer's tool for make bench; nothing else reads the variable.

var profile struct {
	once sync.Once
	f    *os.File
}

// startProfile starts the CPU profile when PFGO_CPUPROFILE asks for one.
func startProfile(name string) {
	dir := os.Getenv("PFGO_CPUPROFILE")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s.%d.prof", name, os.Getpid())))
	if err != nil {
		return
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return
	}
	profile.f = f
}

// exit stops the profile, if any, and ends the process.
func exit(code int) {
	profile.once.Do(func() {
		if profile.f != nil {
			pprof.StopCPUProfile()
			profile.f.Close()
		}
	})
	os.Exit(code)
}
