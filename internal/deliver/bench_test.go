package deliver

import (
	"bytes"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/dsn"
)

// BenchmarkReadRequest decodes a typical one-recipient request, as
// discard and local do for every message.
func BenchmarkReadRequest(b *testing.B) {
	var buf bytes.Buffer
	e := attr.NewEncoder(&buf, attr.Zero)
	r := &Request{Flags: 3, QueueName: "active", QueueID: "BADE199041E", DataOffset: 600, DataSize: 4385,
		Nexthop: "bench.test", Sender: "a@bench.test", Arrival: time.Now(), ActiveAt: time.Now(),
		ClientName: "localhost", ClientAddr: "127.0.0.1", ClientPort: "40000", ClientProto: "ESMTP", HeloName: "localhost",
		LogIdent: "BADE199041E", RewriteContext: "remote",
		Recipients: []dsn.Recipient{{Address: "b@bench.test", Orig: "b@bench.test", Offset: 4900}}}
	if err := WriteRequest(e, r); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d := attr.NewDecoder(bytes.NewReader(data), attr.Zero)
		if _, err := ReadRequest(d); err != nil {
			b.Fatal(err)
		}
	}
}
