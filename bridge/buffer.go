package bridge

import (
	"log/slog"
	"sync"
	"time"

	"github.com/gcnotify/notify"
)

// maxRecords bounds the lifecycle records a buffer holds besides its
// notifications; records beyond it are counted and discarded.
const maxRecords = 10_000

// entry is one item of the buffer: a notification, or a lifecycle record
// when rec is set.
type entry struct {
	note notify.Notification
	rec  *Record
}

// buffer is the bounded FIFO between the reader of the client's events and
// the publisher. push never blocks: beyond capacity notifications are
// counted into a dropped Record that keeps their place in the stream.
type buffer struct {
	log      *slog.Logger
	replica  string
	capacity int
	ready    chan struct{} // signalled after every push and by close

	mu       sync.Mutex
	items    []entry
	head     int // items[:head] were popped
	notes    int // notifications in items[head:]
	records  int // records in items[head:]
	closed   bool
	dropping int   // notifications dropped since the last one accepted
	dropped  int64 // notifications dropped in total
	lost     int64 // records discarded because maxRecords was reached
}

func newBuffer(capacity int, replica string, log *slog.Logger) *buffer {
	return &buffer{
		log:      log,
		replica:  replica,
		capacity: capacity,
		ready:    make(chan struct{}, 1),
	}
}

// push appends notifications and the records of lifecycle events, in
// order.
func (b *buffer) push(now time.Time, evs ...notify.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for _, ev := range evs {
		if n, ok := ev.(notify.Notification); ok {
			b.pushNote(n, now)
		} else if r, ok := recordOf(ev, b.replica, now); ok {
			b.pushRecord(r)
		}
	}
	b.signal()
}

func (b *buffer) pushNote(n notify.Notification, now time.Time) {
	if b.notes < b.capacity {
		if b.dropping > 0 {
			b.log.Info("bridge: buffer has room again", "dropped", b.dropping, "held", b.notes)
			b.dropping = 0
		}
		b.items = append(b.items, entry{note: n})
		b.notes++
		return
	}
	b.dropped++
	b.dropping++
	if b.dropping == 1 {
		b.log.Warn("bridge: buffer full, dropping notifications", "held", b.notes)
	}
	if last := len(b.items) - 1; last >= b.head {
		if r := b.items[last].rec; r != nil && r.Kind == KindDropped && r.Source == SourceBridge {
			r.Count++
			return
		}
	}
	b.pushRecord(Record{Kind: KindDropped, Replica: b.replica, Time: now.UTC(), Count: 1, Source: SourceBridge})
}

func (b *buffer) pushRecord(r Record) {
	if b.records >= maxRecords {
		b.lost++
		return
	}
	b.items = append(b.items, entry{rec: &r})
	b.records++
}

func (b *buffer) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

// pop removes and returns the oldest entry.
func (b *buffer) pop() (entry, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.popLocked()
}

// popN appends up to n of the oldest entries to dst.
func (b *buffer) popN(dst []entry, n int) []entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		e, ok := b.popLocked()
		if !ok {
			break
		}
		dst = append(dst, e)
	}
	return dst
}

func (b *buffer) popLocked() (entry, bool) {
	if b.head == len(b.items) {
		return entry{}, false
	}
	e := b.items[b.head]
	if e.rec != nil {
		r := *e.rec // a copy: the marker may not grow after it left
		e.rec = &r
		b.records--
	} else {
		b.notes--
	}
	b.items[b.head] = entry{}
	b.head++
	switch {
	case b.head == len(b.items):
		b.items, b.head = b.items[:0], 0
	case b.head >= 4096 && b.head*2 >= len(b.items):
		b.items = append(b.items[:0], b.items[b.head:]...)
		b.head = 0
	}
	return e, true
}

// close stops accepting entries; what it holds can still be popped.
func (b *buffer) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.signal()
}

// drained reports whether the buffer is closed and empty.
func (b *buffer) drained() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed && b.head == len(b.items)
}

// recordsHeld returns the lifecycle records held.
func (b *buffer) recordsHeld() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records
}

// counts returns the notifications held and dropped so far, and the
// records discarded.
func (b *buffer) counts() (held int, dropped, lost int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.notes, b.dropped, b.lost
}
