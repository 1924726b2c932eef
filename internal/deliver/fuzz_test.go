package deliver

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/dsn"
)

// FuzzReadRequest feeds arbitrary bytes to the agent's request parser: it
// must never panic, and whatever it accepts must survive a round trip.
// The committed corpus (testdata/fuzz/FuzzReadRequest) holds requests as
// WriteRequest produces them.
func FuzzReadRequest(f *testing.F) {
	var buf bytes.Buffer
	r := &Request{Flags: FlagDefault, QueueName: "active", QueueID: "97F04988064", DataOffset: 342,
		DataSize: 304, Nexthop: "example.com", Sender: "a@b", Arrival: time.Unix(1700000000, 5000),
		Recipients: []dsn.Recipient{{Address: "x@y", Offset: 245, Notify: dsn.NotifyFailure}}}
	if err := WriteRequest(attr.NewEncoder(&buf, attr.Zero), r); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		d := attr.NewDecoder(bytes.NewReader(data), attr.Zero)
		d.MaxLen = 4096
		got, err := ReadRequest(d)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteRequest(attr.NewEncoder(&out, attr.Zero), got); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := ReadRequest(attr.NewDecoder(&out, attr.Zero))
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", got, again)
		}
	})
}
