// Package goldentest holds what the golden tests of the daemons and
// commands share: the text form of queue file records their inputs are
// written in, and a log captured in a file so that the expected output
// can include the warnings a daemon logs.
package goldentest

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/record"
)

// ParseRecords turns a golden input into queue file records: one record
// per line, the type letter, a blank and the data (Go-quoted when it
// starts with '"'); a line "!raw HEX" adds raw bytes as they are.
func ParseRecords(text string) []byte {
	var b bytes.Buffer
	w := record.NewWriter(&b)
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "" {
			continue
		}
		if v, ok := strings.CutPrefix(line, "!raw "); ok {
			w.Flush()
			raw, _ := hex.DecodeString(v)
			b.Write(raw)
			continue
		}
		data := strings.TrimPrefix(line[1:], " ")
		if strings.HasPrefix(data, "\"") {
			if u, err := strconv.Unquote(data); err == nil {
				data = u
			}
		}
		w.PutString(record.Type(line[0]), data)
	}
	w.Flush()
	return b.Bytes()
}

var capture struct {
	once sync.Once
	path string
	c    *conf.Config
	err  error
}

// logPrefix is the time, host and program part of a log line.
var logPrefix = regexp.MustCompile(`(?m)^.*?\[\d+\]: `)

// CaptureLog points the process's log (internal/maillog, as program prog)
// at a file under a temporary configuration whose main.cf also holds
// extraMain, and returns that configuration and a function that returns
// what was logged since this call, without the time/host/program prefix.
// The first call in a test binary decides prog and extraMain.
func CaptureLog(t testing.TB, prog, extraMain string) (*conf.Config, func() string) {
	t.Helper()
	capture.once.Do(func() {
		dir, err := os.MkdirTemp("", prog+"-log-")
		if err != nil {
			capture.err = err
			return
		}
		capture.path = filepath.Join(dir, "maillog")
		p := filepath.Join(dir, "main.cf")
		text := "maillog_file = " + capture.path + "\nmaillog_file_prefixes = " + dir + "\n" + extraMain
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			capture.err = err
			return
		}
		// Postfix programs re-read a main.cf younger than a second.
		old := time.Now().Add(-time.Hour)
		_ = os.Chtimes(p, old, old)
		capture.c, capture.err = conf.Load(dir)
		if capture.err == nil {
			maillog.Init(prog, capture.c)
		}
	})
	if capture.err != nil {
		t.Fatal(capture.err)
	}
	_ = os.Truncate(capture.path, 0)
	return capture.c, func() string {
		data, _ := os.ReadFile(capture.path)
		return logPrefix.ReplaceAllString(string(data), "")
	}
}
