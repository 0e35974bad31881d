package notify

import (
	"hash/maphash"
	"sync"
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

// duplicate reports whether n, read by the connection of generation gen,
// was already delivered by another connection.
func (d *dedup) duplicate(gen uint64, n *Notification) bool {
	k := dedupKey{n.Topic, n.CorrelationID, maphash.Bytes(d.seed, n.Body)}
	d.mu.Lock()
	defer d.mu.Unlock()
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
