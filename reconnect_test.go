package notify

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryPolicyGrowsWithJitterAndClampsToMax(t *testing.T) {
	const initial, max = 100 * time.Millisecond, time.Second
	p := newRetryPolicy(initial, max)
	want := initial
	for i := range 30 {
		d := p.next(errors.New("drop"))
		lo, hi := want/2, min(want*3/2, max)
		if d < lo || d > hi {
			t.Fatalf("attempt %d: delay %v outside [%v, %v]", i, d, lo, hi)
		}
		want = min(want*2, max)
	}
	p.reset()
	if d := p.next(errors.New("drop")); d > initial*3/2 {
		t.Fatalf("after reset delay %v, want about %v", d, initial)
	}
}

func TestRetryPolicyHonoursRetryAfterAndPlannedClose(t *testing.T) {
	p := newRetryPolicy(10*time.Millisecond, 100*time.Millisecond)
	err := fmt.Errorf("creating channel: %w", &APIError{Status: 429, RetryAfter: 3 * time.Second})
	if d := p.next(err); d != 3*time.Second {
		t.Fatalf("429 with Retry-After 3s: delay %v", d)
	}
	if d := p.next(fmt.Errorf("%w: channel x", ErrPlannedClose)); d != 0 {
		t.Fatalf("planned close: delay %v, want 0", d)
	}
}

func TestErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err                error
		permanent, refused bool
	}{
		{fmt.Errorf("x: %w", ErrUnauthorized), true, false},
		{fmt.Errorf("x: %w", ErrInsecureURL), true, false},
		{&APIError{Status: 403}, true, true},
		{&APIError{Status: 400}, false, true},
		{&APIError{Status: 401}, false, false},
		{&APIError{Status: 404}, false, false},
		{&APIError{Status: 429}, false, false},
		{&APIError{Status: 503}, false, false},
		{errors.New("connection reset"), false, false},
	} {
		if got := permanent(tc.err); got != tc.permanent {
			t.Errorf("permanent(%v) = %v", tc.err, got)
		}
		if got := refused(tc.err); got != tc.refused {
			t.Errorf("refused(%v) = %v", tc.err, got)
		}
	}
}
