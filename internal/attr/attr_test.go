package attr

import (
	"bytes"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Golden byte sequences of one record with every value type.
func TestMarshalGolden(t *testing.T) {
	attrs := []Attr{Str("s", "v w"), Int("i", 42), Long("l", 1<<40), Data("d", []byte{0, 1, 0xff}), Hash(map[string]string{"z": "1", "a": "2"})}
	cases := map[Format]string{
		Zero:   "s\x00v w\x00i\x0042\x00l\x001099511627776\x00d\x00AAH/\x00a\x002\x00z\x001\x00\x00",
		Plain:  "s=v w\ni=42\nl=1099511627776\nd=AAH/\na=2\nz=1\n\n",
		Base64: "cw==:diB3\naQ==:NDI=\nbA==:MTA5OTUxMTYyNzc3Ng==\nZA==:AAH/\nYQ==:Mg==\neg==:MQ==\n\n",
	}
	for f, want := range cases {
		got, err := Marshal(f, attrs...)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%v: got %q, want %q", f, got, want)
		}
	}
}

// Values each format cannot carry are refused, not sent corrupted.
func TestMarshalRefuses(t *testing.T) {
	bad := []struct {
		f Format
		a Attr
	}{
		{Zero, Str("n", "a\x00b")}, {Zero, Str("a\x00", "x")}, {Plain, Str("n", "a\nb")},
		{Plain, Str("a=b", "x")}, {Plain, Str("", "x")}, {Base64, Str("", "x")},
		{Zero, Attr{Type: TypeInt, Name: "i", N: 1 << 32}},
	}
	for _, c := range bad {
		if _, err := Marshal(c.f, c.a); err == nil {
			t.Errorf("%v %+v: no error", c.f, c.a)
		}
	}
	// Data may hold anything in every format.
	for _, f := range []Format{Zero, Plain, Base64} {
		if _, err := Marshal(f, Data("d", []byte("a\x00\n=:"))); err != nil {
			t.Errorf("%v: %v", f, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, f := range []Format{Zero, Plain, Base64} {
		var buf bytes.Buffer
		e := NewEncoder(&buf, f)
		h := map[string]string{"k1": "v1", "k2": ""}
		if err := e.WriteProtocol("test_protocol"); err != nil {
			t.Fatal(err)
		}
		if err := e.Write(Str("s", "héllo wörld"), Int("i", 4294967295), Long("l", 18446744073709551615),
			Data("d", []byte("\x00bin\nary=")), Str("empty", ""), Hash(h)); err != nil {
			t.Fatal(err)
		}
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(&buf, f)
		if err := d.ReadProtocol("test_protocol"); err != nil {
			t.Fatal(err)
		}
		var s, empty string
		var i uint32
		var l uint64
		var data []byte
		got := map[string]string{}
		n, err := d.Scan(Strict, WantStr("s", &s), WantInt("i", &i), WantLong("l", &l), WantData("d", &data),
			WantStr("empty", &empty), WantHash(got))
		if err != nil || n != 7 {
			t.Fatalf("%v: n=%d err=%v", f, n, err)
		}
		if s != "héllo wörld" || i != 4294967295 || l != 18446744073709551615 || string(data) != "\x00bin\nary=" || empty != "" || !reflect.DeepEqual(got, h) {
			t.Errorf("%v: %q %d %d %q %q %v", f, s, i, l, data, empty, got)
		}
		if _, err := d.ReadRecord(); !errors.Is(err, io.EOF) {
			t.Errorf("%v: after last record: %v", f, err)
		}
	}
}

// Scan diagnostics. The first two were observed from Postfix 3.7's anvil
// (its warnings, read from syslog) given the same input.
func TestScanErrors(t *testing.T) {
	var s string
	var n uint32
	var b []byte
	cases := []struct {
		in    string
		f     Format
		path  string
		flags Flags
		wants []Want
		want  string
	}{
		{"request=connect\nservice=smtp\n\n", Plain, "unknown_stream", Strict,
			[]Want{WantStr("request", &s), WantStr("ident", &s)},
			"unexpected attribute service from unknown_stream (expecting: ident)"},
		{"request=bogus\n\n", Plain, "anvil socket", Strict,
			[]Want{WantStr("request", &s), WantStr("ident", &s)},
			"missing attribute ident in input from anvil socket"},
		{"request\nident=x\n\n", Plain, "unknown_stream", Strict,
			[]Want{WantStr("request", &s)},
			"missing value for string attribute request from unknown_stream"},
		{"a=1\nb=2\n\n", Plain, "x", Strict, []Want{WantStr("a", &s)},
			"unexpected attribute b from x (expecting: (list terminator))"},
		{"n=12x\n\n", Plain, "x", Strict, []Want{WantInt("n", &n)},
			"malformed numerical data from x while reading input attribute value: 12x"},
		{"n=4294967296\n\n", Plain, "x", Strict, []Want{WantInt("n", &n)},
			"malformed numerical data from x while reading input attribute value: 4294967296"},
		{"n\n\n", Plain, "x", Strict, []Want{WantInt("n", &n)},
			"missing value for number attribute n from x"},
		{"d\x00not base64\x00\x00", Zero, "x", Strict, []Want{WantData("d", &b)},
			"malformed base64 data from x while reading input attribute value: not base64"},
		{"a=1\na=2\n\n", Plain, "x", Strict, []Want{WantHash(map[string]string{})},
			"duplicate attribute a in input from x"},
	}
	for _, c := range cases {
		d := NewDecoder(strings.NewReader(c.in), c.f)
		d.Path = c.path
		_, err := d.Scan(c.flags, c.wants...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
	d := NewDecoder(strings.NewReader("protocol=other\n\n"), Plain)
	d.Path = "x"
	if err := d.ReadProtocol("mine"); err == nil || err.Error() != "unexpected protocol other from x (expecting: mine)" {
		t.Errorf("protocol mismatch: %v", err)
	}
}

// Without flags, unwanted attributes are skipped and a missing one only
// shortens the count, as in Postfix's lenient scan.
func TestScanLenient(t *testing.T) {
	var a, c string
	d := NewDecoder(strings.NewReader("a=1\nb=2\nc=3\nd=4\n\nx=9\n\n"), Plain)
	n, err := d.Scan(0, WantStr("a", &a), WantStr("c", &c))
	if err != nil || n != 2 || a != "1" || c != "3" {
		t.Fatalf("n=%d err=%v a=%q c=%q", n, err, a, c)
	}
	n, err = d.Scan(0, WantStr("y", &a))
	if err != nil || n != 0 {
		t.Fatalf("missing y: n=%d err=%v", n, err)
	}
	// More leaves the record open for a second Scan.
	d = NewDecoder(strings.NewReader("a=1\nb=2\n\n"), Plain)
	if n, err := d.Scan(Strict|More, WantStr("a", &a)); n != 1 || err != nil {
		t.Fatalf("More: n=%d err=%v", n, err)
	}
	if n, err := d.Scan(Strict, WantStr("b", &c)); n != 1 || err != nil || c != "2" {
		t.Fatalf("after More: n=%d err=%v b=%q", n, err, c)
	}
}

func TestHashLimit(t *testing.T) {
	d := NewDecoder(strings.NewReader("a=1\nb=2\nc=3\n\n"), Plain)
	d.MaxHash = 2
	_, err := d.Scan(Strict, WantHash(map[string]string{}))
	if err == nil || err.Error() != "attribute count exceeds limit 2 in input from unknown_stream" {
		t.Errorf("got %v", err)
	}
}

// Client against an in-process server over a socket pair, including the
// announcement and a read timeout.
func TestClient(t *testing.T) {
	for _, f := range []Format{Zero, Plain, Base64} {
		cc, sc := net.Pipe()
		go func() {
			defer sc.Close()
			e, d := NewEncoder(sc, f), NewDecoder(sc, f)
			_ = e.WriteProtocol("echo_protocol")
			_ = e.Flush()
			var s string
			if _, err := d.Scan(Strict, WantStr("say", &s)); err != nil {
				return
			}
			_ = e.Write(Int("status", 0), Str("said", s))
			_ = e.Flush()
		}()
		c, err := NewClient(cc, f, "private/echo", "echo_protocol", 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var status uint32
		var said string
		if err := c.Call([]Attr{Str("say", "hi")}, WantInt("status", &status), WantStr("said", &said)); err != nil || said != "hi" {
			t.Errorf("%v: said=%q err=%v", f, said, err)
		}
		c.Close()
	}
	cc, sc := net.Pipe()
	defer sc.Close()
	_, err := NewClient(cc, Plain, "private/slow", "slow_protocol", 50*time.Millisecond)
	if err == nil || err.Error() != "timeout on private/slow while reading input attribute name" {
		t.Errorf("timeout: %v", err)
	}
}
