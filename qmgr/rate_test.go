package qmgr

import (
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
)

// With smtp_destination_rate_delay, deliveries to one destination are one
// at a time and that far apart; other destinations and transports are not
// held up.
func TestDestinationRateDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "smtp_destination_rate_delay", "1s", "default_destination_concurrency_limit", "20")
	type hit struct {
		nexthop string
		at      time.Time
	}
	hits := make(chan hit, 10)
	e.agent("smtp", func(r *deliver.Request) int {
		hits <- hit{r.Nexthop, time.Now()}
		return sent(r)
	})
	start := time.Now()
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, e.submit("s@example.com", "a@slow.example"))
	}
	other := e.submit("s@example.com", "b@other.example")
	e.run("I")
	var slow []time.Time
	var otherAt time.Time
	for i := 0; i < 4; i++ {
		h := <-hits
		if h.nexthop == "slow.example" {
			slow = append(slow, h.at)
		} else {
			otherAt = h.at
		}
	}
	for i := 1; i < len(slow); i++ {
		if d := slow[i].Sub(slow[i-1]); d < 900*time.Millisecond {
			t.Errorf("deliveries %d and %d to a rate-limited destination %v apart", i-1, i, d)
		}
	}
	if d := otherAt.Sub(start); d > 900*time.Millisecond {
		t.Errorf("another destination waited %v", d)
	}
	for _, id := range append(ids, other) {
		if e.exists(queue.Active, id) || e.exists(queue.Deferred, id) {
			t.Errorf("%s not removed", id)
		}
	}
}

// On-demand connection caching: the first request to a destination asks
// for nothing; one that follows right after another delivery there asks
// the agent to reuse and keep connections, as Postfix's qmgr does.
func TestSessionCacheFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.m.SetProcessLimit("smtp", 1)
	seen := e.agent("smtp", sent)
	for i := 0; i < 3; i++ {
		e.submit("s@example.com", "a@remote.example")
	}
	e.run("I")
	const conn = deliver.FlagConnLoad | deliver.FlagConnStore
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, (<-seen).Flags&conn)
	}
	if got[0] != 0 || got[1] != conn || got[2] != conn {
		t.Errorf("connection cache flags %#x, want 0, %#x, %#x", got, conn, conn)
	}
}
