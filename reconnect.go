package notify

import (
	"errors"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// retryPolicy spaces reconnection attempts: exponential, jittered, clamped
// to max after the jitter, and never giving up by itself.
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

// next returns how long to wait before the next attempt after err. A
// Retry-After from the server is honoured even beyond max; an announced
// close is followed at once.
func (p *retryPolicy) next(err error) time.Duration {
	if errors.Is(err, ErrPlannedClose) {
		return 0
	}
	d := min(p.b.NextBackOff(), p.max)
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > d {
		d = ae.RetryAfter
	}
	return d
}

// reset starts the delays over; the supervisor calls it only after a
// connection stayed healthy, so a server that accepts and drops at once
// is not hammered.
func (p *retryPolicy) reset() { p.b.Reset() }

// permanent reports whether retrying err cannot help, so Run must end.
func permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInsecureURL) ||
		statusOf(err) == http.StatusForbidden
}

// refused reports whether the server definitively refused a subscription
// change, so that nothing changed on its side: a 4xx other than those that
// mean "try again" or "the channel is gone".
func refused(err error) bool {
	switch s := statusOf(err); s {
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	default:
		return s >= 400 && s < 500
	}
}
