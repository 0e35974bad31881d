package notify

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// State is the connection state a Stats reports.
type State string

// States of a client.
const (
	StateIdle       State = "idle"       // Run has not started
	StateConnecting State = "connecting" // some channel has no connection yet, or lost it
	StateConnected  State = "connected"  // every channel is connected
	StateClosed     State = "closed"     // Run has returned
)

// Stats is a snapshot of a client, for health checks and metrics.
type Stats struct {
	State         State
	Channels      []string  // ids of the connected channels
	Topics        int       // size of the topic set
	Reconnects    int64     // Connected events with Reconnect set
	Notifications int64     // notifications put on Events()
	Dropped       int64     // notifications dropped because the consumer was behind
	LastError     error     // why the last connection or attempt ended; nil if none did
	LastErrorAt   time.Time // when; zero if never
}

// counters are the client's running totals not kept elsewhere.
type counters struct {
	reconnects atomic.Int64

	mu        sync.Mutex
	lastErr   error
	lastErrAt time.Time
}

func (s *counters) failed(err error, at time.Time) {
	s.mu.Lock()
	s.lastErr, s.lastErrAt = err, at
	s.mu.Unlock()
}

// Stats returns a snapshot of the client's state and counters.
func (c *Client) Stats() Stats {
	st := Stats{
		Topics:        len(c.Topics()),
		Reconnects:    c.stats.reconnects.Load(),
		Notifications: c.out.notifications.Load(),
		Dropped:       c.out.dropped.Load(),
	}
	c.stats.mu.Lock()
	st.LastError, st.LastErrorAt = c.stats.lastErr, c.stats.lastErrAt
	c.stats.mu.Unlock()
	c.mu.Lock()
	owners := slices.Clone(c.owners)
	c.mu.Unlock()
	for _, o := range owners {
		if id := o.connID.Load(); id != nil {
			st.Channels = append(st.Channels, *id)
		}
	}
	select {
	case <-c.done:
		st.State, st.Channels = StateClosed, nil
		return st
	default:
	}
	switch {
	case !c.started.Load():
		st.State = StateIdle
	case len(st.Channels) == len(owners):
		st.State = StateConnected
	default:
		st.State = StateConnecting
	}
	return st
}
