package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/gcnotify/notify/internal/clock"
)

var budgetStart = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// waitAsync runs b.Wait(ctx) in a goroutine and returns its result channel.
func waitAsync(ctx context.Context, b *budget) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.Wait(ctx) }()
	return done
}

// blockUntil waits until clk has n pending timers.
func blockUntil(t *testing.T, clk *clock.Fake, n int) {
	t.Helper()
	if err := clk.BlockUntil(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

// notDone fails if done has a result: the waiter must still be blocked.
// Determinism: the waiter can return only once its timer fires, and the
// test has not advanced the clock to the timer's deadline.
func notDone(t *testing.T, done <-chan error, what string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("%s: Wait returned %v early", what, err)
	default:
	}
}

// recorded returns the calls b recorded, oldest first.
func recorded(b *budget) []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Oldest first: b.next is 0 until the ring is full.
	return append(slices.Clone(b.calls[b.next:]), b.calls[:b.next]...)
}

func TestBudgetBurstThenWaitsForTheOldestCall(t *testing.T) {
	clk := clock.NewFake(budgetStart)
	b := newBudget(300, clk)
	ctx := context.Background()
	for i := range 300 {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers armed during the burst", n)
	}
	done := waitAsync(ctx, b)
	blockUntil(t, clk, 1)
	clk.Advance(window - 1)
	notDone(t, done, "1 ns before the first call is a minute old")
	clk.Advance(1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	calls := recorded(b)
	if last := calls[len(calls)-1]; !last.Equal(budgetStart.Add(window)) {
		t.Fatalf("call 301 made at %v, want exactly %v", last, budgetStart.Add(window))
	}
}

// The window rolls: a call waits for the call perMinute calls before it,
// not for the start of a fixed minute.
func TestBudgetRollingWindow(t *testing.T) {
	clk := clock.NewFake(budgetStart)
	b := newBudget(3, clk)
	ctx := context.Background()
	for range 3 {
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(10 * time.Second)
	}
	// Now start+30s; calls at 0, 10 and 20 s.
	for i, want := range []time.Duration{60 * time.Second, 70 * time.Second, 80 * time.Second} {
		done := waitAsync(ctx, b)
		blockUntil(t, clk, 1)
		clk.Set(budgetStart.Add(want - 1))
		notDone(t, done, fmt.Sprintf("call %d", i+4))
		clk.Set(budgetStart.Add(want))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	calls := recorded(b)
	for i, want := range []time.Duration{60 * time.Second, 70 * time.Second, 80 * time.Second} {
		if !calls[i].Equal(budgetStart.Add(want)) {
			t.Errorf("call %d at %v, want %v", i+4, calls[i], budgetStart.Add(want))
		}
	}
}

func TestBudgetPauseHoldsEveryone(t *testing.T) {
	clk := clock.NewFake(budgetStart)
	b := newBudget(100, clk)
	ctx := context.Background()
	b.Pause(10 * time.Second)
	b.Pause(5 * time.Second) // shorter: the longer pause is kept
	var dones []<-chan error
	for range 3 {
		dones = append(dones, waitAsync(ctx, b))
	}
	blockUntil(t, clk, 1)
	clk.Advance(10*time.Second - 1)
	for _, d := range dones {
		notDone(t, d, "during the pause")
	}
	clk.Advance(1)
	for _, d := range dones {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range recorded(b) {
		if !c.Equal(budgetStart.Add(10 * time.Second)) {
			t.Errorf("call at %v, want the end of the pause", c)
		}
	}
	b.Pause(0)
	b.Pause(-time.Second)
	if err := b.Wait(ctx); err != nil || clk.Pending() != 0 {
		t.Fatalf("Wait after a zero pause: %v, %d timers", err, clk.Pending())
	}
}

// A pause that begins while the head of the line waits for the window
// holds it past the window.
func TestBudgetPauseWhileWaitingForTheWindow(t *testing.T) {
	clk := clock.NewFake(budgetStart)
	b := newBudget(1, clk)
	ctx := context.Background()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	done := waitAsync(ctx, b)
	blockUntil(t, clk, 1)
	b.Pause(2 * window)
	clk.Advance(window)
	blockUntil(t, clk, 1) // waiting again, for the pause
	clk.Advance(window - 1)
	notDone(t, done, "after the window, during the pause")
	clk.Advance(1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestBudgetContextEnds(t *testing.T) {
	clk := clock.NewFake(budgetStart)
	b := newBudget(1, clk)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a done context = %v", err)
	}
	if n := len(recorded(b)); n != 0 {
		t.Fatalf("a done context took a call: %d recorded", n)
	}

	ctx := context.Background()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	headCtx, cancelHead := context.WithCancel(ctx)
	head := waitAsync(headCtx, b)
	blockUntil(t, clk, 1)
	queuedCtx, cancelQueued := context.WithCancel(ctx)
	queued := waitAsync(queuedCtx, b) // waits for its turn, not on a timer

	cancelQueued()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued waiter: %v", err)
	}
	cancelHead()
	if err := <-head; !errors.Is(err, context.Canceled) {
		t.Fatalf("head waiter: %v", err)
	}
	if n := clk.Pending(); n != 0 {
		t.Fatalf("%d timers left armed", n)
	}
	if n := len(recorded(b)); n != 1 {
		t.Fatalf("%d calls recorded, want 1", n)
	}
	// The line is free again and the window still counts the first call.
	done := waitAsync(ctx, b)
	blockUntil(t, clk, 1)
	clk.Advance(window)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Concurrent waiters all get through, none twice and none lost, and no
// minute ever holds more than the budget.
func TestBudgetConcurrentWaiters(t *testing.T) {
	const perMinute, waiters = 5, 23
	clk := clock.NewFake(budgetStart)
	b := newBudget(perMinute, clk)
	ctx := context.Background()
	done := make(chan error, waiters)
	for range waiters {
		go func() { done <- b.Wait(ctx) }()
	}
	for left := waiters; left > 0; {
		// Each minute lets exactly perMinute waiters through.
		for range min(perMinute, left) {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			left--
		}
		if left > 0 {
			blockUntil(t, clk, 1)
			notDone(t, done, "over budget")
			clk.Advance(window)
		}
	}
	// Four full minutes passed: the last three waiters went through at the
	// start of the fifth, together.
	last := budgetStart.Add(time.Duration((waiters-1)/perMinute) * window)
	if now := clk.Now(); !now.Equal(last) {
		t.Errorf("clock at %v, want %v", now, last)
	}
	calls := recorded(b)
	sort.Slice(calls, func(i, j int) bool { return calls[i].Before(calls[j]) })
	for i, c := range calls {
		want := last.Add(-window)
		if i >= perMinute-waiters%perMinute {
			want = last
		}
		if !c.Equal(want) {
			t.Errorf("call %d of the ring at %v, want %v", i, c, want)
		}
	}
}

func TestNewBudgetRefusesNonPositive(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("newBudget(0) did not panic")
		}
	}()
	newBudget(0, clock.Real)
}
