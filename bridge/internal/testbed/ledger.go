package testbed

import (
	"fmt"
	"log/slog"
	"sync"
)

// Ledger records which replicas each synthetic event reached, as told by
// Feed.Publish, so that a check of the stream can tell an event lost by
// the bridges from one that no replica could have seen: Genesys keeps
// nothing for a closed socket, so an event published while no replica had
// a socket open is unrecoverable by design. It is safe for concurrent use.
type Ledger struct {
	mu        sync.Mutex
	reached   []int64        // per replica: events written to at least one of its sockets
	unreached map[int64]bool // sequence numbers of the events that reached no replica
	events    int64          // events recorded
}

// NewLedger returns a ledger for a feed of replicas servers.
func NewLedger(replicas int) *Ledger {
	return &Ledger{reached: make([]int64, replicas), unreached: map[int64]bool{}}
}

// Add records the event seq and what Feed.Publish returned for it.
func (l *Ledger) Add(seq int64, delivered []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events++
	seen := false
	for i, n := range delivered {
		if n > 0 {
			l.reached[i]++
			seen = true
		}
	}
	if !seen {
		l.unreached[seq] = true
	}
}

// Reached returns how many events reached replica i.
func (l *Ledger) Reached(i int) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reached[i]
}

// Events returns how many events were recorded.
func (l *Ledger) Events() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.events
}

// Unreached returns how many events reached no replica.
func (l *Ledger) Unreached() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.unreached)
}

// Verdict is what a stream holds of the events 1..Published of a Synth,
// judged against a Ledger.
type Verdict struct {
	Published int // events published
	Reached   int // events that reached at least one replica
	Unreached int // events that reached no replica: not losses, nothing could have read them
	Stored    int // distinct events in the stream
	Duplicate int // copies beyond the first
	Lost      int // events that reached a replica and are not in the stream
	Phantom   int // events in the stream that reached no replica: the ledger is wrong

	FirstLost, FirstUnreached int64 // sequence numbers, 0 if none
}

// Judge compares the copies of each sequence number in a stream (see
// Contents.Seqs) with the events 1..last recorded in l.
func (l *Ledger) Judge(seqs map[int64]int, last int64) Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := Verdict{Published: int(last)}
	for s := int64(1); s <= last; s++ {
		k, none := seqs[s], l.unreached[s]
		if k > 0 {
			v.Stored++
			v.Duplicate += k - 1
		}
		switch {
		case none && k > 0:
			v.Phantom++
		case none:
			v.Unreached++
			if v.FirstUnreached == 0 {
				v.FirstUnreached = s
			}
		case k == 0:
			v.Lost++
			if v.FirstLost == 0 {
				v.FirstLost = s
			}
		}
		if !none {
			v.Reached++
		}
	}
	return v
}

// OK reports whether every event that reached a replica is stored exactly
// once and nothing else is.
func (v Verdict) OK() bool { return v.Lost == 0 && v.Duplicate == 0 && v.Phantom == 0 }

// String returns the verdict as one line.
// LogValue is v as log attributes: the counts, and the first sequence
// numbers lost and unreached, if any.
func (v Verdict) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("published", v.Published), slog.Int("reached", v.Reached), slog.Int("unreached", v.Unreached),
		slog.Int("stored", v.Stored), slog.Int("duplicates", v.Duplicate), slog.Int("lost", v.Lost)}
	if v.Phantom > 0 {
		attrs = append(attrs, slog.Int("phantom", v.Phantom))
	}
	if v.FirstLost > 0 {
		attrs = append(attrs, slog.Int64("first_lost", v.FirstLost))
	}
	if v.FirstUnreached > 0 {
		attrs = append(attrs, slog.Int64("first_unreached", v.FirstUnreached))
	}
	return slog.GroupValue(attrs...)
}

func (v Verdict) String() string {
	first := ""
	if v.Unreached > 0 {
		first = fmt.Sprintf("first: seq %d; ", v.FirstUnreached)
	}
	s := fmt.Sprintf("%d events published: %d reached a replica, %d reached none (%spublished while no replica had a socket open: unrecoverable by design); stored %d, duplicates stored %d, lost %d",
		v.Published, v.Reached, v.Unreached, first, v.Stored, v.Duplicate, v.Lost)
	if v.Lost > 0 {
		s += fmt.Sprintf(" (first: seq %d)", v.FirstLost)
	}
	if v.Phantom > 0 {
		s += fmt.Sprintf("; %d stored although they reached no replica: the feed's count is wrong", v.Phantom)
	}
	return s
}
