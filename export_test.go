package notify

import (
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/wire"
)

// WithClock makes the client take every Now and timer from clk, so tests
// of long waits run without waiting.
func WithClock(clk clock.Clock) Option {
	return func(c *config) error {
		c.clock = clk
		return nil
	}
}

// WithProtocol makes the client speak the protocol that newProtocol
// returns for the channel numbered num (from 1), such as the simulator's.
func WithProtocol(newProtocol func(num int) wire.Protocol) Option {
	return func(c *config) error {
		c.protocol = newProtocol
		return nil
	}
}
