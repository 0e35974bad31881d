package notify

import (
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
		o.c.tokens.Invalidate()
	}
	return cl, o.policy.next(cl, after)
}
