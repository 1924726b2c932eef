package qmgr

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
)

// A message with more recipients than qmgr_message_recipient_limit is
// delivered in chunks: one request per chunk for a single destination,
// every recipient exactly once, and a recipient deferred in an early
// chunk is still in the file when the message moves to the deferred
// queue.
func TestRecipientChunks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "qmgr_message_recipient_limit", "3", "qmgr_message_recipient_minimum", "1")
	seen := e.agent("smtp", func(r *deliver.Request) int {
		for i := range r.Recipients {
			rc := &r.Recipients[i]
			if strings.HasPrefix(rc.Address, "r1@") {
				_ = r.Defer(rc, "test", deliverStatus("4.0.0", "later"))
			} else {
				_ = r.Sent(rc, "test", deliverStatus("2.0.0", "ok"))
			}
		}
		return deliver.StatFinal
	})
	var addrs []string
	for i := 0; i < 7; i++ {
		addrs = append(addrs, fmt.Sprintf("r%d@remote.example", i))
	}
	id := e.submit("s@example.com", addrs...)
	e.run("I")
	var sizes []int
	var got []string
	for len(got) < len(addrs) {
		r := <-seen
		sizes = append(sizes, len(r.Recipients))
		for _, rc := range r.Recipients {
			got = append(got, rc.Address)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(addrs, ",") {
		t.Errorf("delivered %v", got)
	}
	if fmt.Sprint(sizes) != "[3 3 1]" {
		t.Errorf("request sizes %v, want [3 3 1]", sizes)
	}
	f, err := os.Open(e.l.Path(queue.Deferred, id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := readMessage(f, id, "")
	if err != nil || len(m.rcpts) != 1 || m.rcpts[0].Address != "r1@remote.example" || m.done != 6 {
		t.Errorf("deferred file: %v, recipients %+v, done %d", err, m.rcpts, m.done)
	}
	if n := e.m.inMemory; n != 0 {
		t.Errorf("%d recipients still counted in memory", n)
	}
}
