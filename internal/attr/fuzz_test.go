package attr

import (
	"bytes"
	"testing"
)

// fuzzDecode decodes arbitrary input both raw and typed; it must never
// panic, and every record it accepts (unless it has an empty name) must
// survive re-encoding.
func fuzzDecode(t *testing.T, f Format, in []byte) {
	d := NewDecoder(bytes.NewReader(in), f)
	d.MaxLen = 4096
	for i := 0; i < 64; i++ {
		rec, err := d.ReadRecord()
		if err != nil {
			break
		}
		attrs := make([]Attr, len(rec))
		emptyName := false
		for j, p := range rec {
			attrs[j] = Str(p.Name, p.Value)
			emptyName = emptyName || p.Name == ""
		}
		if emptyName {
			// "=value" reads as an attribute with an empty name, which
			// the encoder refuses to produce.
			continue
		}
		out, err := Marshal(f, attrs...)
		if err != nil {
			t.Fatalf("decoded record %q does not re-encode: %v", rec, err)
		}
		again, err := NewDecoder(bytes.NewReader(out), f).ReadRecord()
		if err != nil || len(again) != len(rec) {
			t.Fatalf("re-encoded record %q decodes as %q, %v", rec, again, err)
		}
		for j := range rec {
			if again[j] != rec[j] {
				t.Fatalf("attribute %d: %q became %q", j, rec[j], again[j])
			}
		}
	}
	var s string
	var n uint32
	var l uint64
	var b []byte
	d = NewDecoder(bytes.NewReader(in), f)
	for i := 0; i < 16; i++ {
		if _, err := d.Scan(0, WantStr("request", &s), WantInt("status", &n), WantLong("size", &l),
			WantData("data", &b), WantHash(map[string]string{})); err != nil {
			break
		}
	}
}

func FuzzDecode0(f *testing.F) {
	f.Add([]byte("request\x00rewrite\x00rule\x00local\x00address\x00user\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecode(t, Zero, in) })
}

func FuzzDecodePlain(f *testing.F) {
	f.Add([]byte("request=connect\nident=smtp:127.0.0.1\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecode(t, Plain, in) })
}

func FuzzDecode64(f *testing.F) {
	f.Add([]byte("cmVxdWVzdA==:Y29ubmVjdA==\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) { fuzzDecode(t, Base64, in) })
}
