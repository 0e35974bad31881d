package notify

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify/internal/clock"
)

// DefaultRequestBudget is the number of REST calls a Client makes in any
// rolling minute unless WithRequestBudget says otherwise.
//
// Genesys Cloud allows 300 REST requests a minute per OAuth token, and that
// allowance is shared by everything that uses the token: this client's
// channel creations, subscription PUTs and snapshot reads, and the
// service's own API calls made with the same OAuth client (often the
// backfill that a reported gap calls for, at the very moment the client
// resynchronizes). 120 leaves the service more than half of the allowance
// and still covers a large recovery in one minute: 20 channels reconnected
// at once cost 20 channel creations and 20 PUTs, and the snapshots of
// 1,000 users' presence and routing status another 20 and 10 bulk reads,
// 70 calls in all. Larger sets resynchronize over more than a minute
// rather than crowd out the service's own calls or earn 429s, which would
// pause every call of the client.
const DefaultRequestBudget = 120

// window is the span over which a budget counts calls.
const window = time.Minute

// A budget paces all REST calls of one client: at most perMinute calls in
// any rolling minute, and none while a pause (a 429's Retry-After) is in
// force. Waiters are served in the order they arrive. It is safe for
// concurrent use.
type budget struct {
	clk clock.Clock

	// turn is held by the waiter at the head of the line: only it waits
	// for the window or a pause, the others wait for their turn. A waiter
	// that gives up leaves the line without taking a call.
	turn chan struct{}

	mu    sync.Mutex
	limit int         // calls in any window
	calls []time.Time // the last calls, up to limit; a ring once full
	next  int         // once full, the slot of the oldest call
	until time.Time   // end of the pause in force

	trace   *Trace       // hook for waits; nil if none
	waiting atomic.Int32 // calls in Wait
}

// newBudget returns a budget of perMinute calls in any rolling minute on
// clk. It panics if perMinute is not positive.
func newBudget(perMinute int, clk clock.Clock) *budget {
	if perMinute <= 0 {
		panic("notify: request budget must be positive")
	}
	return &budget{
		clk:   clk,
		turn:  make(chan struct{}, 1),
		limit: perMinute,
	}
}

// Wait blocks until a call may be made, that is until fewer than perMinute
// calls were made in the minute before now and no pause is in force, and
// records the call. If ctx ends first, or had ended already, Wait records
// nothing and returns ctx.Err().
func (b *budget) Wait(ctx context.Context) error {
	start := b.clk.Now()
	if err := ctx.Err(); err != nil {
		return err
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()

	var t clock.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.mu.Lock()
		now := b.clk.Now()
		at := b.until
		if len(b.calls) == b.limit {
			if free := b.calls[b.next].Add(window); free.After(at) {
				at = free
			}
		}
		if !now.Before(at) {
			if len(b.calls) < b.limit { // grows with use: an idle client makes few calls
				b.calls = append(b.calls, now)
			} else {
				b.calls[b.next] = now
				b.next = (b.next + 1) % b.limit
			}
			b.mu.Unlock()
			b.trace.budgetWait(now.Sub(start))
			return nil
		}
		b.mu.Unlock()
		// A Pause while we wait only lengthens the wait: we wake at the
		// earlier time, find the pause and wait again.
		if t == nil {
			t = b.clk.NewTimer(at.Sub(now))
		} else {
			t.Reset(at.Sub(now))
		}
		select {
		case <-t.C():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// busy reports whether a call is waiting for its turn: REST calls are
// paced, not hung.
func (b *budget) busy() bool { return b.waiting.Load() > 0 }

// Pause makes every call wait until d from now, as a 429's Retry-After
// asks. A pause in force that ends later is kept; d <= 0 does nothing.
func (b *budget) Pause(d time.Duration) {
	if d <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.clk.Now().Add(d); until.After(b.until) {
		b.until = until
	}
}
