package queue

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must not panic, and what
// it accepts must encode and decode to the same message.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		m, _, err := Decode(bytes.NewReader(in), 1<<16)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := m.Encode(&buf, 0); err != nil {
			return // for example an attribute name Encode refuses
		}
		m2, _, err := Decode(&buf, 0)
		if err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if m2.Sender != m.Sender || len(m2.Recipients) != len(m.Recipients) || !bytes.Equal(m2.Content, m.Content) {
			t.Fatalf("re-encoding changed the message")
		}
	})
}
