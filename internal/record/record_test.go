package record

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dump lists the records of in, one line each, and ends with the warning a
// Postfix program would print for bad input.
func dump(name string, in []byte) string {
	var b strings.Builder
	r := NewReader(bytes.NewReader(in), 0)
	for {
		off := r.Offset()
		t, data, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&b, "record: warning: %s: %v\n", name, err)
			break
		}
		shown := data
		if len(shown) > 60 {
			shown = shown[:60]
		}
		fmt.Fprintf(&b, "%d %q %d %q\n", off, rune(t), len(data), shown)
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(filepath.Base(in), data)
			golden := strings.TrimSuffix(in, ".in") + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestLengthEncoding(t *testing.T) {
	cases := map[int][]byte{
		0:         {0},
		1:         {1},
		127:       {0x7f},
		128:       {0x80, 0x01},
		2048:      {0x80, 0x10},
		16383:     {0xff, 0x7f},
		16384:     {0x80, 0x80, 0x01},
		MaxLength: {0xff, 0xff, 0xff, 0xff, 0x07},
	}
	for n, want := range cases {
		if got := AppendLength(nil, n); !bytes.Equal(got, want) {
			t.Errorf("AppendLength(%d) = % x, want % x", n, got, want)
		}
		if got := LengthSize(n); got != len(want) {
			t.Errorf("LengthSize(%d) = %d, want %d", n, got, len(want))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type rec struct {
		t Type
		d []byte
	}
	var recs []rec
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for range 2000 {
		n := rng.IntN(300)
		if rng.IntN(50) == 0 {
			n = rng.IntN(100000)
		}
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(rng.UintN(256))
		}
		r := rec{Type(rng.UintN(256)), d}
		recs = append(recs, r)
		if err := w.Put(r.t, r.d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Offset() != int64(buf.Len()) {
		t.Fatalf("Offset %d, wrote %d", w.Offset(), buf.Len())
	}
	r := NewReader(&buf, 0)
	for i, want := range recs {
		typ, data, err := r.Next()
		if err != nil || typ != want.t || !bytes.Equal(data, want.d) {
			t.Fatalf("record %d: got %q %d bytes %v, want %q %d bytes", i, typ, len(data), err, want.t, len(want.d))
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after last record: %v, want EOF", err)
	}
}

func TestPutText(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.PutText(bytes.Repeat([]byte("x"), 5000), 2048)
	w.PutText(nil, 2048)
	w.Flush()
	r := NewReader(&buf, 0)
	var got []string
	for {
		typ, data, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, fmt.Sprintf("%c%d", typ, len(data)))
	}
	if want := "L2048 L2048 N904 N0"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestMaxLen(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.PutString(Norm, "0123456789")
	w.PutString(Norm, "ok")
	w.Flush()
	r := NewReader(&buf, 5)
	_, _, err := r.Next()
	var re *Error
	if !errors.As(err, &re) || !errors.Is(err, ErrCorrupt) || err.Error() != "illegal length 10, record type 78" {
		t.Fatalf("got %v", err)
	}
	// The oversized record's data is skipped, as Postfix does.
	if typ, data, err := r.Next(); err != nil || typ != Norm || string(data) != "ok" {
		t.Fatalf("after skip: %q %q %v", typ, data, err)
	}
}

func TestErrorKinds(t *testing.T) {
	for in, kind := range map[string]error{
		"N\x80":                     ErrTruncated,
		"N\x05ab":                   ErrTruncated,
		"N\x80\x80\x80\x80\x80\x01": ErrCorrupt,
		"N\xff\xff\xff\xff\x0f":     ErrCorrupt,
	} {
		_, _, err := NewReader(strings.NewReader(in), 0).Next()
		if !errors.Is(err, kind) {
			t.Errorf("%q: got %v, want %v", in, err, kind)
		}
	}
}

func FuzzRecordReader(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*.in")
	for _, in := range ins {
		if data, err := os.ReadFile(in); err == nil && len(data) < 4096 {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in), 0)
		var buf bytes.Buffer
		w := NewWriter(&buf)
		var clean bool
		for {
			off := r.Offset()
			typ, data, err := r.Next()
			if err == io.EOF {
				clean = true
				break
			}
			if err != nil {
				var re *Error
				if !errors.As(err, &re) || re.Offset != off {
					t.Fatalf("error %v at %d is not a record error at the record start", err, off)
				}
				break
			}
			if r.Offset() > int64(len(in)) {
				t.Fatalf("offset %d past input length %d", r.Offset(), len(in))
			}
			w.Put(typ, data)
		}
		w.Flush()
		// Re-encoding what was read reproduces the input when every
		// length was in its shortest form.
		if clean && buf.Len() > len(in) {
			t.Fatalf("re-encoding grew: %d > %d", buf.Len(), len(in))
		}
	})
}
