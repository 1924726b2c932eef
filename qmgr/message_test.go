package qmgr

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dumpMessage prints what readMessage found in a queue file, or its error.
func dumpMessage(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	defer f.Close()
	m, err := readMessage(f, filepath.Base(path), "active/"+filepath.Base(path))
	if err != nil {
		return "warning: " + strings.ReplaceAll(err.Error(), "\n", "\nwarning: ") + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sender=<%s> arrival=%d.%06d created=%d\n", m.sender, m.arrival.Unix(), m.arrival.Nanosecond()/1000, m.created.Unix())
	fmt.Fprintf(&b, "size=%d offset=%d nrcpt=%d content=%d smtputf8=%d\n", m.size.DataSize, m.size.DataOffset, m.size.RcptCount, m.size.ContLength, m.smtputf8)
	if m.warnOffset > 0 {
		fmt.Fprintf(&b, "warn=%d at offset %d\n", m.warnTime.Unix(), m.warnOffset)
	}
	fmt.Fprintf(&b, "done=%d notify_success=%v encoding=%q envid=%q ret=%d context=%q client=%q/%q\n",
		m.done, m.notifyOK, m.encoding, m.envID, m.ret, m.rwrContext, m.clientName, m.clientAddr)
	if m.filter != "" || m.redirect != "" || m.verpSeen || m.inspect != "" {
		fmt.Fprintf(&b, "filter=%q redirect=%q verp=%q inspect=%q\n", m.filter, m.redirect, m.verp, m.inspect)
	}
	for _, r := range m.rcpts {
		fmt.Fprintf(&b, "rcpt offset=%d address=<%s> orig=<%s> dsn_orig=%q notify=%d\n", r.Offset, r.Address, r.Orig, r.DSNOrig, r.Notify)
	}
	return b.String()
}

// TestReadMessageGolden reads the queue files in testdata (two written by
// Postfix's cleanup, one with pointer records and a warning time, one
// with content filter, VERP, inspector and redirect records in both
// sections (the last filter wins), broken ones) and compares what the queue manager sees with the .golden files.
func TestReadMessageGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/*.queue")
	if len(files) < 5 {
		t.Fatalf("testdata has %d queue files", len(files))
	}
	for _, in := range files {
		got := dumpMessage(in)
		golden := strings.TrimSuffix(in, ".queue") + ".golden"
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", in, got, want)
		}
	}
}

// FuzzReadMessage: no queue file, however broken, may crash or hang the
// queue manager's reader.
func FuzzReadMessage(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.queue")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readMessage(bytes.NewReader(data), "F00000000", "active/F00000000")
		if err == nil && m.sender == "" && len(m.rcpts) > 0 && m.rcpts[0].Offset <= 0 {
			t.Fatalf("recipient at offset %d", m.rcpts[0].Offset)
		}
		if err != nil {
			return
		}
		// Read in chunks of two, the same recipients come out.
		var chunks []int64
		for skip, more := 0, true; more; {
			c, err := readChunk(bytes.NewReader(data), "F00000000", "active/F00000000", skip, 2)
			if err != nil || len(c.rcpts) > 2 || len(chunks) > len(m.rcpts) {
				t.Fatalf("chunk at %d: %v, %d recipients", skip, err, len(c.rcpts))
			}
			for _, r := range c.rcpts {
				chunks = append(chunks, r.Offset)
			}
			skip, more = c.resume, c.more
		}
		if len(chunks) != len(m.rcpts) {
			t.Fatalf("chunks have %d recipients, the message %d", len(chunks), len(m.rcpts))
		}
		for i, r := range m.rcpts {
			if chunks[i] != r.Offset {
				t.Fatalf("recipient %d at offset %d in chunks, %d in the message", i, chunks[i], r.Offset)
			}
		}
	})
}
