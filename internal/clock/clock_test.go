package clock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var start = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// fired returns the value waiting on t's channel, if any, without blocking.
func fired(t Timer) (time.Time, bool) {
	select {
	case v := <-t.C():
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeNowMovesOnlyByAdvanceAndSet(t *testing.T) {
	f := NewFake(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	f.Advance(90 * time.Second)
	if got := f.Now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("after Advance: Now = %v", got)
	}
	f.Set(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("after Set: Now = %v", got)
	}
}

func TestFakeAdvanceNegativePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Advance(-1) did not panic")
		}
	}()
	NewFake(start).Advance(-1)
}

func TestFakeTimerFiresAtItsDeadline(t *testing.T) {
	f := NewFake(start)
	tm := f.NewTimer(10 * time.Second)
	if c := cap(tm.C()); c != 1 {
		t.Fatalf("cap(C) = %d, want 1", c)
	}
	f.Advance(10*time.Second - 1)
	if v, ok := fired(tm); ok {
		t.Fatalf("fired early, at %v", v)
	}
	f.Advance(1)
	if v, ok := fired(tm); !ok || !v.Equal(start.Add(10*time.Second)) {
		t.Fatalf("fired = %v, %v; want the deadline", v, ok)
	}
	f.Advance(time.Hour)
	if v, ok := fired(tm); ok {
		t.Fatalf("fired twice, again at %v", v)
	}
}

// Timers fire in deadline order, each seeing its own deadline as Now, even
// when one Advance passes all of them.
func TestFakeFiresInDeadlineOrder(t *testing.T) {
	f := NewFake(start)
	ds := []time.Duration{3 * time.Second, time.Second, 2 * time.Second, time.Second}
	timers := make([]Timer, len(ds))
	for i, d := range ds {
		timers[i] = f.NewTimer(d)
	}
	f.Advance(5 * time.Second)
	for i, tm := range timers {
		if v, ok := fired(tm); !ok || !v.Equal(start.Add(ds[i])) {
			t.Errorf("timer %d: fired = %v, %v; want %v", i, v, ok, start.Add(ds[i]))
		}
	}
	if got := f.Now(); !got.Equal(start.Add(5 * time.Second)) {
		t.Fatalf("Now = %v after Advance", got)
	}
}

// Timers with equal deadlines fire in arming order.
func TestFakeFireOrderWithEqualDeadlines(t *testing.T) {
	f := NewFake(start)
	a, b := f.NewTimer(time.Second), f.NewTimer(time.Second)
	f.mu.Lock()
	first := f.pending[0]
	f.mu.Unlock()
	if first != a.(*fakeTimer) {
		t.Fatal("equal deadlines not kept in arming order")
	}
	f.Advance(time.Second)
	if _, ok := fired(a); !ok {
		t.Error("a did not fire")
	}
	if _, ok := fired(b); !ok {
		t.Error("b did not fire")
	}
}

func TestFakeTimerStop(t *testing.T) {
	f := NewFake(start)

	tm := f.NewTimer(time.Second)
	if !tm.Stop() {
		t.Error("Stop of an armed timer = false")
	}
	if tm.Stop() {
		t.Error("second Stop = true")
	}
	f.Advance(time.Minute)
	if _, ok := fired(tm); ok {
		t.Error("stopped timer fired")
	}

	// Expired but not received: Stop drops the value and reports true,
	// as time.Timer does since Go 1.23.
	tm = f.NewTimer(time.Second)
	f.Advance(time.Second)
	if !tm.Stop() {
		t.Error("Stop of an expired, unreceived timer = false")
	}
	if v, ok := fired(tm); ok {
		t.Errorf("stale value %v received after Stop", v)
	}

	// Expired and received: Stop reports false.
	tm = f.NewTimer(time.Second)
	f.Advance(time.Second)
	<-tm.C()
	if tm.Stop() {
		t.Error("Stop after the value was received = true")
	}
	if n := f.Pending(); n != 0 {
		t.Errorf("Pending = %d, want 0", n)
	}
}

func TestFakeTimerReset(t *testing.T) {
	f := NewFake(start)
	tm := f.NewTimer(time.Second)
	if !tm.Reset(5 * time.Second) {
		t.Error("Reset of an armed timer = false")
	}
	f.Advance(4 * time.Second)
	if _, ok := fired(tm); ok {
		t.Fatal("fired at the old deadline")
	}
	f.Advance(time.Second)
	if v, ok := fired(tm); !ok || !v.Equal(start.Add(5*time.Second)) {
		t.Fatalf("fired = %v, %v", v, ok)
	}
	if tm.Reset(time.Second) {
		t.Error("Reset after the value was received = true")
	}

	// Expired but not received: Reset drops the stale value.
	f.Advance(time.Second)
	if !tm.Reset(time.Second) {
		t.Error("Reset of an expired, unreceived timer = false")
	}
	if v, ok := fired(tm); ok {
		t.Fatalf("stale value %v received after Reset", v)
	}
	f.Advance(time.Second)
	if v, ok := fired(tm); !ok || !v.Equal(start.Add(7*time.Second)) {
		t.Fatalf("after Reset: fired = %v, %v", v, ok)
	}
}

func TestFakeZeroDurationFiresAtOnce(t *testing.T) {
	f := NewFake(start)
	for _, d := range []time.Duration{0, -time.Second} {
		tm := f.NewTimer(d)
		if v, ok := fired(tm); !ok || !v.Equal(start) {
			t.Errorf("NewTimer(%v): fired = %v, %v", d, v, ok)
		}
		if tm.Reset(d) {
			t.Errorf("Reset(%v) of a received timer = true", d)
		}
		if v, ok := fired(tm); !ok || !v.Equal(start) {
			t.Errorf("Reset(%v): fired = %v, %v", d, v, ok)
		}
	}
	if n := f.Pending(); n != 0 {
		t.Errorf("Pending = %d, want 0", n)
	}
}

func TestFakeSetBackwardFiresNothing(t *testing.T) {
	f := NewFake(start)
	tm := f.NewTimer(time.Minute)
	f.Set(start.Add(-time.Hour))
	if _, ok := fired(tm); ok {
		t.Fatal("fired when time went back")
	}
	f.Set(start.Add(time.Minute))
	if v, ok := fired(tm); !ok || !v.Equal(start.Add(time.Minute)) {
		t.Fatalf("fired = %v, %v; want the original deadline", v, ok)
	}
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(start)
	ctx := context.Background()
	if err := f.BlockUntil(ctx, 0); err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time)
	go func() {
		tm := f.NewTimer(time.Minute)
		got <- <-tm.C()
	}()
	if err := f.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(time.Minute)
	if v := <-got; !v.Equal(start.Add(time.Minute)) {
		t.Fatalf("woke with %v", v)
	}
}

func TestFakeBlockUntilContextDone(t *testing.T) {
	f := NewFake(start)
	f.NewTimer(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.BlockUntil(ctx, 2) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntil = %v, want context.Canceled", err)
	}
}

// Many goroutines arm, stop and reset timers while the test advances the
// clock; run with -race. A worker blocks only on a pending timer, so the
// driver advances whenever one is pending until every worker is done.
func TestFakeConcurrentUse(t *testing.T) {
	f := NewFake(start)
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				tm := f.NewTimer(time.Duration(1+(w+i)%5) * time.Second)
				switch i % 3 {
				case 0:
					tm.Stop()
					continue
				case 1:
					tm.Reset(time.Second)
				}
				if v := <-tm.C(); v.After(f.Now()) {
					t.Errorf("fired with %v, after Now", v)
				}
			}
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { wg.Wait(); cancel() }()
	for f.BlockUntil(ctx, 1) == nil {
		f.Advance(5 * time.Second)
	}
}

func TestRealClock(t *testing.T) {
	before := time.Now()
	if now := Real.Now(); now.Before(before) {
		t.Fatalf("Real.Now = %v, before %v", now, before)
	}
	tm := Real.NewTimer(0)
	if v := <-tm.C(); v.Before(before) {
		t.Fatalf("fired with %v", v)
	}
	tm = Real.NewTimer(time.Hour)
	if !tm.Stop() {
		t.Error("Stop of a running real timer = false")
	}
	if tm.Reset(0) {
		t.Error("Reset of a stopped real timer = true")
	}
	<-tm.C()
}
