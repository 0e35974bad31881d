package notify

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// outbox is the bounded buffer between the goroutines that produce events
// and the consumer of Events(). push never blocks: when the consumer is
// behind, notifications are counted into a Dropped event that keeps its
// place in the stream, and lifecycle events wait in a backlog. A pump
// goroutine runs while the backlog is not empty and feeds it to the
// channel in order, so an idle client has none.
//
// A run of drops (notifications dropped with nothing passed on to the
// consumer between them) is one Dropped: a notification dropped while the
// backlog ends with a Dropped is counted into it, and two Dropped are never
// next to each other in the stream. A Dropped stops growing once the pump
// takes it to hand it on; a notification that would be dropped right behind
// it then waits in the backlog instead (at most one, since the next one is
// dropped behind it), so that the next run's Dropped comes after it.
type outbox struct {
	ch chan Event

	// onDropped, if set, is called with the topics of the notifications
	// that each Dropped counts, sorted, once per Dropped: on the pump's
	// goroutine, when the pump takes the Dropped to hand it on (its run is
	// over and its count final), before it reaches the channel. Every
	// event pushed after that, by onDropped itself too, comes after the
	// Dropped in the stream. It must not block for long: the stream waits
	// for it. Set it before the first push; nil costs nothing.
	onDropped func(topics []string)

	mu           sync.Mutex
	backlog      []queued // waiting for room in ch, in order
	pumping      bool     // a pump is running; it holds the backlog's order
	afterDropped bool     // the last event taken for ch is a Dropped
	closed       bool
	stop         chan struct{} // closed by shutdown
	pumps        sync.WaitGroup

	notifications atomic.Int64 // notifications put in ch
	dropped       atomic.Int64 // notifications counted into Dropped

	trace *Trace // hooks for notifications delivered and dropped; nil if none
}

// queued is an event of the backlog. A Dropped has the topics it counts
// when onDropped is set.
type queued struct {
	ev     Event
	topics map[string]struct{}
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
			o.afterDropped = false
			return
		default:
		}
	}
	last := len(o.backlog) - 1
	switch {
	case !isNote, last < 0 && o.afterDropped:
		o.backlog = append(o.backlog, queued{ev: ev})
	case last >= 0 && isDropped(o.backlog[last].ev):
		q := &o.backlog[last]
		q.ev = Dropped{Count: q.ev.(Dropped).Count + 1}
		o.count(q, ev)
	default:
		o.backlog = append(o.backlog, queued{ev: Dropped{Count: 1}})
		o.count(&o.backlog[last+1], ev)
	}
	if !o.pumping {
		o.pumping = true
		o.pumps.Add(1)
		go o.pump()
	}
}

// count records the notification n dropped into q.
func (o *outbox) count(q *queued, n Event) {
	o.dropped.Add(1)
	o.trace.dropped(n)
	if o.onDropped == nil {
		return
	}
	if q.topics == nil {
		q.topics = make(map[string]struct{})
	}
	q.topics[n.(Notification).Topic] = struct{}{}
}

func isDropped(ev Event) bool {
	_, ok := ev.(Dropped)
	return ok
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
		q := o.backlog[0]
		o.backlog[0] = queued{}
		o.backlog = o.backlog[1:]
		drop := isDropped(q.ev)
		o.afterDropped = drop
		o.mu.Unlock()

		if drop && o.onDropped != nil {
			o.onDropped(slices.Sorted(maps.Keys(q.topics)))
		}
		select {
		case o.ch <- q.ev:
			if _, ok := q.ev.(Notification); ok {
				o.notifications.Add(1)
				o.trace.delivered(q.ev)
			}
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
