// Package clock is the one source of time of the notify package: every
// Now and every timer comes from a Clock, so that tests of long waits
// (heartbeats, renewals, Retry-After, backoff caps) run instantly and
// deterministically on a Fake.
package clock

import "time"

// A Clock tells the time and makes timers.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a Timer that sends the time on its channel once d
	// has passed, like time.NewTimer.
	NewTimer(d time.Duration) Timer
}

// A Timer is a one-shot timer with the semantics of time.Timer since Go
// 1.23: after Stop or Reset returns, no value from before the call is
// received from C.
type Timer interface {
	// C returns the channel on which the time is delivered.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it stopped
	// the timer: false if the timer had expired and its value was
	// received, or had been stopped already.
	Stop() bool
	// Reset makes the timer fire d from now, dropping a value not yet
	// received. It reports whether the timer was active, as Stop does.
	Reset(d time.Duration) bool
}

// Real is the system clock: time.Now and time.NewTimer.
var Real Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// realTimer adapts a *time.Timer. The module's go directive (1.23 or
// later) gives time.Timer the semantics that Timer documents.
type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }
