package notify

import (
	"sync"
	"sync/atomic"
)

// outbox is the bounded buffer between the goroutines that produce events
// and the consumer of Events(). push never blocks: when the consumer is
// behind, notifications are counted into a Dropped event that keeps its
// place in the stream, and lifecycle events wait in a backlog. A pump
// goroutine runs while the backlog is not empty and feeds it to the
// channel in order, so an idle client has none.
type outbox struct {
	ch chan Event

	mu      sync.Mutex
	backlog []Event // waiting for room in ch, in order
	pumping bool    // a pump is running; it holds the backlog's order
	closed  bool
	stop    chan struct{} // closed by shutdown
	pumps   sync.WaitGroup

	notifications atomic.Int64 // notifications put in ch
	dropped       atomic.Int64 // notifications counted into Dropped

	trace *Trace // hooks for notifications delivered and dropped; nil if none
}

func newOutbox(n int) *outbox {
	return &outbox{ch: make(chan Event, n), stop: make(chan struct{})}
}

// push queues ev behind every event pushed before it.
func (o *outbox) push(ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	_, isNote := ev.(Notification)
	if !o.pumping {
		select {
		case o.ch <- ev:
			if isNote {
				o.notifications.Add(1)
				o.trace.delivered(ev)
			}
			return
		default:
		}
	}
	if isNote {
		o.dropped.Add(1)
		o.trace.dropped(ev)
		if n := len(o.backlog); n > 0 {
			if d, ok := o.backlog[n-1].(Dropped); ok {
				o.backlog[n-1] = Dropped{Count: d.Count + 1}
				return
			}
		}
		ev = Dropped{Count: 1}
	}
	o.backlog = append(o.backlog, ev)
	if !o.pumping {
		o.pumping = true
		o.pumps.Add(1)
		go o.pump()
	}
}

// pump moves the backlog into the channel, in order, and ends when the
// backlog is empty or at shutdown.
func (o *outbox) pump() {
	defer o.pumps.Done()
	for {
		o.mu.Lock()
		if len(o.backlog) == 0 {
			o.pumping = false
			o.backlog = nil
			o.mu.Unlock()
			return
		}
		ev := o.backlog[0]
		o.backlog[0] = nil
		o.backlog = o.backlog[1:]
		o.mu.Unlock()

		select {
		case o.ch <- ev:
		case <-o.stop:
			return
		}
	}
}

// shutdown stops any pump, drops the backlog and closes the channel;
// events already in the channel stay readable.
func (o *outbox) shutdown() {
	close(o.stop)
	o.pumps.Wait()
	o.mu.Lock()
	o.closed = true
	o.backlog = nil
	close(o.ch)
	o.mu.Unlock()
}
