package notify

import (
	"sync"
	"sync/atomic"
)

// outbox is the bounded buffer between the goroutines that produce events
// and the consumer of Events(). push never blocks: when the consumer is
// behind, notifications are counted into a Dropped event that keeps its
// place in the stream, and lifecycle events wait in a backlog that one
// pump goroutine feeds to the channel in order.
type outbox struct {
	ch chan Event

	mu       sync.Mutex
	backlog  []Event // waiting for room in ch, in order
	inflight bool    // the pump holds an event it took from backlog
	closed   bool
	wake     chan struct{}

	notifications atomic.Int64 // notifications put in ch
	dropped       atomic.Int64 // notifications counted into Dropped
	stop          chan struct{}
	done          chan struct{}
}

func newOutbox(n int) *outbox {
	return &outbox{
		ch:   make(chan Event, n),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// push queues ev behind every event pushed before it.
func (o *outbox) push(ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	_, isNote := ev.(Notification)
	if len(o.backlog) == 0 && !o.inflight {
		select {
		case o.ch <- ev:
			if isNote {
				o.notifications.Add(1)
			}
			return
		default:
		}
	}
	if isNote {
		o.dropped.Add(1)
		if n := len(o.backlog); n > 0 {
			if d, ok := o.backlog[n-1].(Dropped); ok {
				o.backlog[n-1] = Dropped{Count: d.Count + 1}
				return
			}
		}
		ev = Dropped{Count: 1}
	}
	o.backlog = append(o.backlog, ev)
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// pump moves the backlog into the channel until shutdown.
func (o *outbox) pump() {
	defer close(o.done)
	for {
		o.mu.Lock()
		if len(o.backlog) == 0 {
			o.mu.Unlock()
			select {
			case <-o.wake:
				continue
			case <-o.stop:
				return
			}
		}
		ev := o.backlog[0]
		o.backlog[0] = nil
		o.backlog = o.backlog[1:]
		o.inflight = true
		o.mu.Unlock()

		select {
		case o.ch <- ev:
		case <-o.stop:
			return
		}
		o.mu.Lock()
		o.inflight = false
		o.mu.Unlock()
	}
}

// shutdown stops the pump if started, drops the backlog and closes the
// channel; events already in the channel stay readable.
func (o *outbox) shutdown(pumped bool) {
	close(o.stop)
	if pumped {
		<-o.done
	}
	o.mu.Lock()
	o.closed = true
	o.backlog = nil
	close(o.ch)
	o.mu.Unlock()
}
