package clock

import (
	"context"
	"sync"
	"time"
)

// Fake is a manual Clock for tests: its time moves only by Advance and
// Set, which fire the timers that fall due, in deadline order. It is safe
// for concurrent use.
//
// A test that drives code waiting on a timer first calls BlockUntil to
// know the timer is armed, then advances the clock:
//
//	clk := clock.NewFake(start)
//	go codeUnderTest(clk)
//	if err := clk.BlockUntil(ctx, 1); err != nil { ... }
//	clk.Advance(time.Minute)
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	pending []*fakeTimer  // armed timers, in arming order
	seq     uint64        // arming counter, to order equal deadlines
	armed   chan struct{} // closed when a timer is armed; nil if nobody waits
}

// NewFake returns a Fake whose time is start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a Timer that fires once the fake time has moved d past
// now. A d of zero or less fires at once, as time.NewTimer does. Its
// channel has a buffer of one value.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, c: make(chan time.Time, 1), idx: -1}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// Advance moves the time forward by d, firing the timers that fall due on
// the way in deadline order (arming order for equal deadlines). While a
// timer fires, Now reports its deadline. Advance panics if d is negative.
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic("clock: Fake.Advance with a negative duration")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set(f.now.Add(d))
}

// Set sets the time to t. If t is later than now, the timers due by t fire
// as with Advance; if it is earlier, no timer fires and the pending ones
// keep their deadlines.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set(t)
}

// BlockUntil waits until at least n timers are pending (armed and not yet
// fired or stopped), or ctx is done, when it returns ctx.Err().
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.pending) >= n {
			f.mu.Unlock()
			return nil
		}
		if f.armed == nil {
			f.armed = make(chan struct{})
		}
		armed := f.armed
		f.mu.Unlock()
		select {
		case <-armed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Pending returns the number of pending timers.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pending)
}

// set moves the time to t, firing what falls due. f.mu is held.
func (f *Fake) set(t time.Time) {
	for {
		next := -1
		for i, p := range f.pending {
			if p.when.After(t) {
				continue
			}
			if next < 0 || p.when.Before(f.pending[next].when) ||
				p.when.Equal(f.pending[next].when) && p.seq < f.pending[next].seq {
				next = i
			}
		}
		if next < 0 {
			break
		}
		p := f.pending[next]
		if p.when.After(f.now) {
			f.now = p.when
		}
		f.disarm(p)
		p.fire(f.now)
	}
	f.now = t
}

// arm makes t fire d from now. f.mu is held and t is not pending.
func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	if d <= 0 {
		t.fire(f.now)
		return
	}
	f.seq++
	t.when, t.seq, t.idx = f.now.Add(d), f.seq, len(f.pending)
	f.pending = append(f.pending, t)
	if f.armed != nil {
		close(f.armed)
		f.armed = nil
	}
}

// disarm removes t from the pending timers, keeping their order, and
// reports whether it was pending. f.mu is held.
func (f *Fake) disarm(t *fakeTimer) bool {
	if t.idx < 0 {
		return false
	}
	copy(f.pending[t.idx:], f.pending[t.idx+1:])
	f.pending[len(f.pending)-1] = nil
	f.pending = f.pending[:len(f.pending)-1]
	for i := t.idx; i < len(f.pending); i++ {
		f.pending[i].idx = i
	}
	t.idx = -1
	return true
}

// fakeTimer is the Timer of a Fake. Its fields are guarded by f.mu.
type fakeTimer struct {
	f    *Fake
	c    chan time.Time
	when time.Time
	seq  uint64
	idx  int // index in f.pending; -1 when not pending
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.stop()
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	active := t.stop()
	t.f.arm(t, d)
	return active
}

// stop disarms t and drops a value not yet received, like time.Timer's
// Stop since Go 1.23. f.mu is held.
func (t *fakeTimer) stop() bool {
	active := t.f.disarm(t)
	select {
	case <-t.c:
		active = true
	default:
	}
	return active
}

// fire delivers now. The buffer is empty: a timer fires once per arming
// and arming drains it.
func (t *fakeTimer) fire(now time.Time) {
	select {
	case t.c <- now:
	default:
	}
}
