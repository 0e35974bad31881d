package notify

import (
	"sync"

	"github.com/gcnotify/notify/internal/topic"
)

// holdback holds the events of topics arriving on an owner's channel from
// one the client retires, until the retiring channel has been read to its
// end: then they follow its events in order, less the copies it
// delivered. The owner's readers fill it; the owner releases it.
type holdback struct {
	mu     sync.Mutex
	topics set            // the arriving topics, their expansions too
	held   []Notification // their events, in order
	over   bool           // more arrived than it holds: some were lost
}

// holds keeps n if its topic is arriving, and reports whether it did.
func (hb *holdback) holds(n Notification) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if _, ok := hb.topics[n.Topic]; !ok {
		return false
	}
	if len(hb.held) < dedupWindow {
		hb.held = append(hb.held, n)
	} else {
		hb.over = true
	}
	return true
}

// arrive starts holding back the events of topics.
func (o *owner) arrive(topics []string) {
	hb := o.hold.Load()
	if hb == nil {
		hb = &holdback{topics: set{}}
	}
	hb.mu.Lock()
	for _, t := range topics {
		for _, name := range append(topic.Expand(t), t) {
			hb.topics[name] = struct{}{}
		}
	}
	hb.mu.Unlock()
	o.hold.Store(hb)
}

// settle releases the events held back: the retiring channel was read to
// its end (drained), or not, and then what it did not deliver is lost, and
// a Connected with Gap on this channel names the arrived topics.
func (o *owner) settle(drained bool) {
	hb := o.hold.Swap(nil)
	if hb == nil {
		return
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if o.phase != phaseServing {
		return // lost with the connection that read them: its successor's Connected says so
	}
	if !drained || hb.over {
		o.out.push(Connected{ChannelID: o.cur.conn.ID(), Reconnect: true, Gap: true, Topics: hb.topics.sorted()})
	}
	for _, n := range hb.held {
		if !o.host.duplicate(o.cur.gen, &n) {
			o.out.push(n)
		}
	}
}
