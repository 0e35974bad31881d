package notify

import (
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/gcnotify/notify/internal/wire"
)

// retryPolicy spaces attempts: exponential, jittered, clamped to max after
// the jitter, and never giving up by itself.
type retryPolicy struct {
	b   *backoff.ExponentialBackOff
	max time.Duration
}

func newRetryPolicy(initial, max time.Duration) *retryPolicy {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMaxInterval(max),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMaxElapsedTime(0),
	)
	return &retryPolicy{b: b, max: max}
}

// next returns how long to wait before the next attempt after an error of
// class cl: a Retry-After from the server is honoured even beyond max.
func (p *retryPolicy) next(cl wire.Class, retryAfter time.Duration) time.Duration {
	d := min(p.b.NextBackOff(), p.max)
	if cl == wire.RetryAfter {
		d = max(d, retryAfter)
	}
	return d
}

// reset starts the delays over; the owner calls it only after a
// connection stayed healthy, so a server that accepts and drops at once
// is not hammered.
func (p *retryPolicy) reset() { p.b.Reset() }

// lost handles the end of cur: whatever was under way on it is settled,
// and the next connection follows.
func (o *owner) lost(err error) error {
	l := o.cur
	o.cur, o.held = nil, nil
	o.serves(nil)
	announced := l.announced || l.announcedClose()
	l.end(err)
	o.handoverLost()
	// Changes not yet confirmed are in the set, which the next
	// connection subscribes: the same as a change while disconnected.
	o.chg.answerAll(nil)
	if o.ho.phase != handoverDialing {
		o.timer.Reset(never) // else it bounds the dial, which becomes the reconnect
	}
	o.watch.Reset(never)
	o.renew.Reset(never)
	now := o.clk.Now()
	o.lostAt = now
	if now.Sub(l.up) >= o.cfg.backoffMax {
		o.policy.reset()
		o.failures = 0
	}
	if announced && !errors.Is(err, ErrPlannedClose) {
		err = fmt.Errorf("%w: %w", ErrPlannedClose, err)
	}
	return o.failed(err, l.conn.ID(), announced)
}

// failed reports a lost connection or a failed dial and goes on to the
// next dial, or returns the error that ends Run.
func (o *owner) failed(err error, channel string, announced bool) error {
	err = public(err)
	o.host.failed(err, o.clk.Now())
	cl, wait := o.ending(err, announced)
	if cl == wire.Permanent {
		return err
	}
	o.failures++
	if n := o.cfg.maxAttempts; n > 0 && o.failures >= n {
		return fmt.Errorf("notify: giving up after %d attempts: %w", o.failures, err)
	}
	o.after = cl
	switch {
	case o.ho.phase != handoverDialing:
		o.to(phaseBackingOff, "retry in "+wait.String())
		o.timer.Reset(wait)
	case o.phase != phaseDialing:
		wait = 0
		o.to(phaseDialing, "the handover's dial is the reconnect")
	default:
		wait = 0
	}
	// Reported once the next step is set, so a reader of the event finds
	// the timer armed.
	o.log.Warn("notify: disconnected", "channel", channel, "err", err, "retry_in", wait)
	o.cfg.trace.disconnected(channel, err, wait)
	o.out.push(Disconnected{ChannelID: channel, Err: err, RetryIn: wait})
	return nil
}

// ending is what the owner decides when a connection or an attempt
// ended with err: the class that steers the next dial, and how long to
// wait before it. A session the server announced it would end is
// replaced at once; a refused token is fetched anew.
func (o *owner) ending(err error, announced bool) (wire.Class, time.Duration) {
	if announced {
		return wire.FreshSession, 0
	}
	cl, after := wire.ClassOf(err)
	if cl == wire.FreshToken {
		o.host.invalidateToken()
	}
	return cl, o.policy.next(cl, after)
}
