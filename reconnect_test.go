package notify

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gcnotify/notify/internal/wire"
)

func TestRetryPolicyGrowsWithJitterAndClampsToMax(t *testing.T) {
	const initial, max = 100 * time.Millisecond, time.Second
	p := newRetryPolicy(initial, max)
	want := initial
	for i := range 30 {
		d := p.next(wire.Transient, 0)
		lo, hi := want/2, min(want*3/2, max)
		if d < lo || d > hi {
			t.Fatalf("attempt %d: delay %v outside [%v, %v]", i, d, lo, hi)
		}
		want = min(want*2, max)
	}
	p.reset()
	if d := p.next(wire.Transient, 0); d > initial*3/2 {
		t.Fatalf("after reset delay %v, want about %v", d, initial)
	}
}

func TestRetryPolicyHonoursRetryAfter(t *testing.T) {
	p := newRetryPolicy(10*time.Millisecond, 100*time.Millisecond)
	if d := p.next(wire.RetryAfter, 3*time.Second); d != 3*time.Second {
		t.Fatalf("429 with Retry-After 3s: delay %v", d)
	}
}

// Errors are classified at the protocol boundary; what the engine does
// follows from the class alone.
func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want wire.Class
	}{
		{fmt.Errorf("x: %w", ErrUnauthorized), wire.Permanent},
		{fmt.Errorf("x: %w", ErrInsecureURL), wire.Permanent},
		{&wire.HTTPError{Status: 400}, wire.Refused},
		{&wire.HTTPError{Status: 403}, wire.Refused},
		{&wire.HTTPError{Status: 401}, wire.FreshToken},
		{&wire.HTTPError{Status: 404}, wire.FreshSession},
		{&wire.HTTPError{Status: 429, RetryAfter: time.Second}, wire.RetryAfter},
		{&wire.HTTPError{Status: 503}, wire.Transient},
		{wire.Classed(wire.Permanent, &wire.HTTPError{Status: 403}), wire.Permanent},
		{errors.New("connection reset"), wire.Transient},
	} {
		if got, _ := wire.ClassOf(tc.err); got != tc.want {
			t.Errorf("ClassOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	// Users see an *APIError for a REST answer, and the sentinels by errors.Is.
	err := public(fmt.Errorf("creating channel: %w", &wire.HTTPError{Status: 429, RetryAfter: 3 * time.Second}))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != 3*time.Second {
		t.Fatalf("public error %v has no *APIError", err)
	}
}
