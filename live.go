package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify/internal/wire"
)

// live is one connection of an owner: its reader, the gate that holds the
// events it reads behind its Connected, and (as owner methods at the end
// of this file) its heartbeat watch and renewal schedule. The owner alone
// calls its methods, except deliver and the reader's report.
type live struct {
	conn    wire.Conn
	gen     uint64        // numbers connections across the client, for de-duplication
	up      time.Time     // when it connected
	closing chan struct{} // the server announced a close
	done    chan struct{} // closed when the reader has ended
	err     error         // why the reader ended; read after done
	why     error         // why the owner ended it, if it did
	// announced is set by the owner when the server announced a close that
	// no handover answers: the next connection then follows at once.
	announced bool
	ctx       context.Context
	cancel    context.CancelFunc        // ends its tasks
	release   context.CancelCauseFunc   // ends the context it was dialed with
	hold      *atomic.Pointer[holdback] // its owner's: events of arriving topics wait there

	passing  atomic.Bool // the gate is open: the reader's fast path
	mu       sync.Mutex
	gate     gatePhase
	early    []Notification // read while the gate is shut
	earlyMax int            // beyond it the connection ends: see errHeldTooMany
}

// gatePhase is where a connection's gate stands.
type gatePhase int

const (
	gateShut     gatePhase = iota // its Connected is not out: events wait in early
	gateOpen                      // events go straight to the outbox
	gateOverflow                  // too many waited: the connection is ending
)

// errHeldTooMany ends a connection whose Connected could not go out before
// more events arrived than its gate holds.
var errHeldTooMany = errors.New("notify: too many events arrived before the subscriptions were in place")

func newLive(conn wire.Conn, gen uint64, up time.Time, earlyMax int, release context.CancelCauseFunc) *live {
	l := &live{conn: conn, gen: gen, up: up, closing: make(chan struct{}, 1), done: make(chan struct{}), earlyMax: earlyMax, release: release}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

// end closes the connection for a reason, once; its reader then ends.
func (l *live) end(why error) {
	if l.why != nil {
		return
	}
	l.why = why
	l.cancel()
	l.conn.Close()
	l.release(nil)
}

// ended returns why the connection ended: the owner's reason if it ended
// it, else the reader's error. Call it once done is closed.
func (l *live) ended() error {
	if l.why != nil {
		return l.why
	}
	return l.err
}

// deliver passes n on unless another connection delivered it, or holds
// it while the connection's Connected is not out, so that its events
// follow it (and, in a handover, the old connection's). A gate that
// overflows ends the connection: its events are then covered by the next
// one's gap.
func (l *live) deliver(h host, out *outbox, n Notification) {
	if hb := l.hold.Load(); hb != nil && hb.holds(n) {
		return
	}
	if l.passing.Load() {
		if !h.duplicate(l.gen, &n) {
			out.push(n)
		}
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch l.gate {
	case gateOpen:
		if !h.duplicate(l.gen, &n) {
			out.push(n)
		}
	case gateShut:
		if len(l.early) < l.earlyMax {
			l.early = append(l.early, n)
			return
		}
		l.gate, l.early = gateOverflow, nil
		l.conn.Close()
	}
}

// open delivers ev and the events held before it that no other
// connection delivered, and lets the rest through. It reports false if
// the gate overflowed.
func (l *live) open(h host, out *outbox, ev Connected) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gate != gateShut {
		return false
	}
	out.push(ev)
	for _, n := range l.early {
		if !h.duplicate(l.gen, &n) {
			out.push(n)
		}
	}
	l.early = nil
	l.gate = gateOpen
	l.passing.Store(true)
	return true
}

// overflowed reports whether the gate overflowed.
func (l *live) overflowed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gate == gateOverflow
}

// read is the connection's reader: it delivers notifications through the
// gate, skips de-duplicated copies and undecodable frames, and reports
// announced closes and its end.
func (l *live) read(h host, out *outbox) {
	defer close(l.done)
	for {
		f, err := l.conn.Next()
		if err != nil {
			l.err = err
			if l.overflowed() {
				l.err = fmt.Errorf("%w (%d held): %w", errHeldTooMany, l.earlyMax, err)
			}
			return
		}
		switch f.Kind {
		case wire.Notify:
			l.deliver(h, out, notification(f.Event))
		case wire.Invalid:
			h.logger().Warn("notify: skipping an undecodable frame", "channel", l.conn.ID(), "gen", l.gen, "err", f.Err)
		case wire.Closing:
			select {
			case l.closing <- struct{}{}:
			default:
			}
		}
	}
}

// announcedClose reports whether the server announced a close that the
// owner has not seen yet.
func (l *live) announcedClose() bool {
	select {
	case <-l.closing:
		return true
	default:
		return false
	}
}

// notification converts an event off the wire for the user.
func notification(e wire.Event) Notification {
	return Notification{Topic: e.Topic, Version: e.Version, CorrelationID: e.CorrelationID, Body: e.Body, Received: e.Received}
}

// heartbeat watches cur: alive means a frame or pong since the ping, if
// one was sent, else one within the timeout. Silent for the timeout, it
// is pinged; silent half as long again, it is replaced. A late timer
// cannot make a live socket dead.
func (o *owner) heartbeat() {
	l := o.cur
	if l == nil {
		return
	}
	hb := o.cfg.heartbeat
	now := o.clk.Now()
	seen := l.conn.Seen()
	idle := now.Sub(seen)
	switch {
	case o.pingedAt.IsZero() && idle < hb, !o.pingedAt.IsZero() && !seen.Before(o.pingedAt):
		o.pingedAt = time.Time{}
		o.watch.Reset(max(hb-idle, 0))
	case o.pingedAt.IsZero():
		o.pingedAt = now
		o.task(func() {
			ctx, cancel := context.WithTimeout(l.ctx, hb/2)
			defer cancel()
			if err := l.conn.Drain(ctx); err != nil {
				o.log.Debug("notify: ping failed", "channel", l.conn.ID(), "gen", l.gen, "err", err)
			}
		})
		o.watch.Reset(hb / 2)
	default:
		l.end(fmt.Errorf("%w for %v", ErrHeartbeatTimeout, idle.Round(time.Millisecond)))
	}
}

// scheduleRenewal sets the renewal timer from cur.
func (o *owner) scheduleRenewal() {
	at := o.cur.conn.RenewAt()
	if at.IsZero() {
		o.renew.Reset(never)
		return
	}
	o.renew.Reset(max(at.Sub(o.clk.Now()), 0))
}
