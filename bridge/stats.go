package bridge

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify"
)

// Stats is a snapshot of a bridge's counters, for health checks, metrics
// and logs. Notifications and lifecycle records are counted apart.
type Stats struct {
	Replica       string
	Genesys       notify.State // state of the notify client
	NATSConnected bool

	Received   int64 // notifications read from the client
	Published  int64 // notifications this replica stored in the stream
	Duplicates int64 // notifications the stream already had (from another replica, or a retry)
	Held       int   // notifications buffered or waiting for their acknowledgement
	Dropped    int64 // notifications discarded because the buffer was full
	Refused    int64 // notifications NATS refused for good (too large), logged and skipped

	Records        int64 // lifecycle records stored
	RecordsDropped int64 // lifecycle records discarded because too many waited

	ClientDropped int64 // notifications the notify client discarded (its Dropped events)
	Connects      int64 // Connected events, first connection included
	Disconnects   int64 // Disconnected events
	Rejected      int64 // Rejected events

	Retries       int64     // publishes sent again after a failure or timeout
	Stale         int64     // notifications published later than the duplicate window after they arrived
	LastError     error     // the last publishing or stream error; nil if none
	LastErrorAt   time.Time // when
	Unpublished   int       // after Run: notifications left when the drain timed out
	DrainDuration time.Duration
}

// counters are the running totals behind Stats.
type counters struct {
	received, published, duplicates, records   atomic.Int64
	clientDropped, connects, disconnects, rejs atomic.Int64
	retries, stale, refused                    atomic.Int64
	inflight                                   atomic.Int64 // notifications in the publisher's window

	mu          sync.Mutex
	lastErr     error
	lastErrAt   time.Time
	unpublished int
	drain       time.Duration
}

func (c *counters) setErr(err error) {
	c.mu.Lock()
	c.lastErr, c.lastErrAt = err, time.Now()
	c.mu.Unlock()
}

// count updates the counters of a lifecycle event read from the client.
func (c *counters) count(ev notify.Event) {
	switch ev := ev.(type) {
	case notify.Notification:
		c.received.Add(1)
	case notify.Connected:
		c.connects.Add(1)
	case notify.Disconnected:
		c.disconnects.Add(1)
	case notify.Rejected:
		c.rejs.Add(1)
	case notify.Dropped:
		c.clientDropped.Add(int64(ev.Count))
	}
}

// Stats returns a snapshot of the bridge's counters.
func (b *Bridge) Stats() Stats {
	c := &b.st
	st := Stats{
		Replica:       b.cfg.Replica,
		Genesys:       b.cfg.Client.Stats().State,
		Received:      c.received.Load(),
		Published:     c.published.Load(),
		Duplicates:    c.duplicates.Load(),
		Records:       c.records.Load(),
		ClientDropped: c.clientDropped.Load(),
		Connects:      c.connects.Load(),
		Disconnects:   c.disconnects.Load(),
		Rejected:      c.rejs.Load(),
		Retries:       c.retries.Load(),
		Stale:         c.stale.Load(),
		Refused:       c.refused.Load(),
	}
	if nc := b.conn.Load(); nc != nil {
		st.NATSConnected = nc.IsConnected()
	}
	held, dropped, lost := b.buf.counts()
	st.Held = held + int(c.inflight.Load())
	st.Dropped, st.RecordsDropped = dropped, lost
	c.mu.Lock()
	st.LastError, st.LastErrorAt = c.lastErr, c.lastErrAt
	st.Unpublished, st.DrainDuration = c.unpublished, c.drain
	c.mu.Unlock()
	return st
}
