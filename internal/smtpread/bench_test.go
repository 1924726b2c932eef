package smtpread

import (
	"bufio"
	"strings"
	"testing"
)

// BenchmarkReadData reads 4 KB messages (78-byte lines, some dot-stuffed)
// from one stream; the hot path should not allocate.
func BenchmarkReadData(b *testing.B) {
	var msg strings.Builder
	for msg.Len() < 4096 {
		msg.WriteString(strings.Repeat("x", 76) + "\r\n")
		msg.WriteString("..a dotted line\r\n")
	}
	msg.WriteString(".\r\n")
	one := msg.String()
	sr := strings.NewReader("")
	br := bufio.NewReaderSize(sr, 4096)
	r := NewReader(br, Options{})
	sink := func([]byte, bool) error { return nil }
	b.SetBytes(int64(len(one)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sr.Reset(one)
		br.Reset(sr)
		if _, err := r.ReadData(sink); err != nil {
			b.Fatal(err)
		}
	}
}
