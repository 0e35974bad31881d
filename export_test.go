package notify

import "github.com/gcnotify/notify/internal/clock"

// WithClock makes the client take every Now and timer from clk, so tests
// of long waits run without waiting.
func WithClock(clk clock.Clock) Option {
	return func(c *config) error {
		c.clock = clk
		return nil
	}
}
