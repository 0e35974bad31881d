package notify

import (
	"hash/maphash"
	"sync"
	"time"
)

// dedupWindow bounds how many events a handover remembers.
const dedupWindow = 8192

// dedup drops the second copy of an event that two connections both
// delivered while a handover overlapped them. An event is identified by
// topic, CorrelationId and a hash of its body: CorrelationId alone is not
// unique per event. A repeat on the same connection is not a duplicate.
type dedup struct {
	seed maphash.Seed

	mu    sync.Mutex
	users int                 // overlaps that hold the window open
	until time.Time           // once users is 0: when the window closes for good
	seen  map[dedupKey]uint64 // event -> generation of the connection that delivered it
	order []dedupKey          // ring of keys, oldest at next once full
	next  int
}

type dedupKey struct {
	topic, correlationID string
	body                 uint64
}

func newDedup() *dedup {
	return &dedup{seed: maphash.MakeSeed(), seen: make(map[dedupKey]uint64)}
}

// closed reports whether the window has closed for good. The caller holds d.mu.
func (d *dedup) closed(now time.Time) bool {
	return d.users == 0 && now.After(d.until)
}

// duplicate reports whether n, read by the connection of generation gen,
// was already delivered by another connection, and whether the window has
// closed, in which case nothing was checked.
func (d *dedup) duplicate(gen uint64, n *Notification, now time.Time) (dup, closed bool) {
	k := d.key(n)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed(now) {
		return false, true
	}
	return d.check(gen, k), false
}

func (d *dedup) key(n *Notification) dedupKey {
	return dedupKey{n.Topic, n.CorrelationID, maphash.Bytes(d.seed, n.Body)}
}

// check records k as delivered by gen unless another generation did; the
// caller holds d.mu.
func (d *dedup) check(gen uint64, k dedupKey) bool {
	if g, ok := d.seen[k]; ok {
		if g != gen {
			delete(d.seen, k)
			return true
		}
		return false
	}
	if len(d.order) < dedupWindow {
		d.order = append(d.order, k)
	} else {
		delete(d.seen, d.order[d.next])
		d.order[d.next] = k
		d.next = (d.next + 1) % dedupWindow
	}
	d.seen[k] = gen
	return false
}

// holdDedup opens the de-duplication window, or keeps the open one open,
// for an overlap of two connections: a handover or a topic moving between
// shards.
func (c *Client) holdDedup() *dedup {
	c.dedupMu.Lock()
	defer c.dedupMu.Unlock()
	d := c.dedup.Load()
	if d != nil {
		d.mu.Lock()
		if d.closed(c.cfg.clock.Now()) {
			d.mu.Unlock()
			d = nil
		}
	}
	if d == nil {
		d = newDedup()
		d.mu.Lock()
		c.dedup.Store(d)
	}
	d.users++
	d.mu.Unlock()
	return d
}

// releaseDedup ends an overlap. The window stays open for a heartbeat
// timeout more, for copies still in flight on the surviving connection.
func (c *Client) releaseDedup(d *dedup) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users--
	if d.users == 0 {
		d.until = c.cfg.clock.Now().Add(c.cfg.heartbeat)
	}
}

// duplicate reports whether a connection's event was already delivered by
// another one during an overlap.
func (c *Client) duplicate(gen uint64, n *Notification) bool {
	d := c.dedup.Load()
	if d == nil {
		return false
	}
	dup, closed := d.duplicate(gen, n, c.cfg.clock.Now())
	if closed {
		c.dedup.CompareAndSwap(d, nil)
	}
	return dup
}
