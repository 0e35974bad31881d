package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gcnotify/notify/internal/wire"
)

// handover is an owner's answer to a planned close, make-before-break: a
// new session is dialed with the whole set while cur goes on serving;
// once it is up, the old connection is read to its end and let go.
// Events both deliver meanwhile are passed on once. The new session takes
// a spare channel, of which the client holds few (WithMaxChannels), so a
// handover may first queue for one.
type handover struct {
	phase   handoverPhase
	left    wire.Session // the old session, left on the spare channel for the next handover
	old     *live        // the connection being drained
	overlap *dedup       // held from the dial until old is gone
}

// handoverPhase is where a handover stands. It holds a spare channel
// while dialing and draining.
type handoverPhase int

const (
	handoverNone     handoverPhase = iota
	handoverQueued                 // waits for a spare channel
	handoverDialing                // a new session is dialed while cur serves
	handoverSettling               // the new connection is up; its set is put in place while old serves
	handoverDraining               // old is read to its end; then the new connection serves
)

func (p handoverPhase) String() string {
	return [...]string{"none", "queued", "dialing", "settling", "draining"}[p]
}

// errHandedOver ends a connection that a handover replaced.
var errHandedOver = errors.New("notify: handed over to a new connection")

func (o *owner) handoverTo(p handoverPhase, why string) {
	o.log.Debug("notify: handover phase", "shard", o.num, "from", o.ho.phase, "to", p, "why", why)
	o.ho.phase = p
}

// planned answers a close the server announced on cur.
func (o *owner) planned(ctx context.Context) {
	o.cur.announced = true
	if o.phase != phaseServing {
		return // the next connection follows the close at once
	}
	switch o.ho.phase {
	case handoverQueued, handoverDialing:
		return
	case handoverDraining: // the new connection announced a close too
		o.letGo(nil)
	}
	s, ok := o.host.takeSpare(o)
	if !ok {
		o.handoverTo(handoverQueued, "no spare channel")
		o.log.Info("notify: planned close; waiting for a spare channel to hand over", "channel", o.cur.conn.ID())
		return
	}
	o.dialHandover(ctx, s)
}

// granted takes a spare channel given to o in the queue.
func (o *owner) granted(ctx context.Context, s wire.Session) {
	if o.ho.phase != handoverQueued || o.cur == nil {
		o.host.releaseSpare(s)
		return
	}
	o.dialHandover(ctx, s)
}

// dialHandover dials a new session on the spare channel.
func (o *owner) dialHandover(ctx context.Context, s wire.Session) {
	o.handoverTo(handoverDialing, "spare channel")
	o.ho.overlap = o.host.holdDedup()
	o.timer.Reset(o.dialTimeout()) // while cur serves
	o.startDial(ctx, wire.FreshSession, s)
}

// dialEnded settles the handover whose dial came back as the reconnect:
// the new session replaces the gone one, so the spare channel is free.
func (o *owner) dialEnded() {
	if o.ho.phase == handoverDialing {
		o.endHandover()
	}
}

// handedOver takes the handover's dial: the new connection serves, and
// the old one is drained; if the dial failed, cur stays until the server
// closes it, and the next connection then follows at once.
func (o *owner) handedOver(r dialResult) error {
	if r.err != nil {
		o.log.Warn("notify: handover failed; staying until the server closes", "channel", o.cur.conn.ID(), "err", r.err)
		o.endHandover()
		return nil
	}
	old := o.cur
	o.log.Info("notify: handed over", "from", old.conn.ID(), "to", r.conn.ID())
	// The new connection's events wait behind its Connected until its set
	// is in place and then the old one is read to its end, so they follow
	// the old one's in order and none falls between the two.
	o.ho.old = old
	o.handoverTo(handoverSettling, "new connection up")
	o.connect(r, Connected{ChannelID: r.conn.ID(), Reconnect: true})
	return nil
}

// drained is the end of a drain of a handover's old connection.
type drained struct {
	l   *live
	err error
}

// drain reads l to its end in a task, then leaves it with a close
// handshake, so the server counts its channel unconnected before the
// spare channel goes to the next handover.
func (o *owner) drain(l *live) {
	o.task(func() {
		err := o.readToEnd(l)
		if err == nil {
			l.conn.Leave()
		}
		o.report(drained{l, err})
	})
}

// drained lets the drained connection go, leaving its session for the
// next handover if it ended cleanly.
func (o *owner) drained(d drained) {
	if d.l != o.ho.old {
		return // an old connection let go before its drain ended
	}
	var left wire.Session
	if s, ok := d.l.conn.(wire.OnSession); ok && d.err == nil {
		left = s.Session()
	}
	if d.err != nil {
		// What the old connection did not deliver is lost: the new
		// connection's Connected says so.
		o.log.Warn("notify: old connection not drained", "channel", d.l.conn.ID(), "err", d.err)
		o.pending.Gap, o.pending.Downtime = true, o.clk.Now().Sub(d.l.conn.Seen())
	}
	o.letGo(left)
	o.announce()
}

// readToEnd waits until l has read everything its server sent before now.
// It gives up only when l makes no progress for half the heartbeat
// timeout, so a long backlog is read to its end.
func (o *owner) readToEnd(l *live) error {
	half := o.cfg.heartbeat / 2
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.conn.Drain(ctx) }()
	t := o.clk.NewTimer(half)
	defer t.Stop()
	last := l.conn.Seen()
	for {
		select {
		case err := <-done:
			return err
		case <-l.done:
			cancel()
			<-done
			return l.err // the reader's: why is the owner's alone
		case <-t.C():
			if now := l.conn.Seen(); !now.Equal(last) {
				last = now
				t.Reset(half)
				continue
			}
			cancel()
			<-done
			return fmt.Errorf("%w while draining", ErrHeartbeatTimeout)
		}
	}
}

// letGo ends the old connection of a handover and the handover with it,
// leaving left, the old session, for the next handover if not nil.
func (o *owner) letGo(left wire.Session) {
	o.ho.left = left
	o.endHandover()
}

// handoverLost settles the handover when cur is lost: a queued one or a
// drain ends with it; a dial goes on as the reconnect.
func (o *owner) handoverLost() {
	if o.ho.phase != handoverDialing {
		o.endHandover()
	}
}

// endHandover ends the handover in whatever phase it is, and gives back
// what it holds.
func (o *owner) endHandover() {
	ho := o.ho
	o.ho = handover{}
	if ho.old != nil {
		ho.old.end(errHandedOver)
		<-ho.old.done
	}
	if ho.overlap != nil {
		o.host.releaseDedup(ho.overlap)
	}
	switch ho.phase {
	case handoverQueued:
		o.host.unqueue(o)
		select {
		case s := <-o.spare: // granted just now: no longer wanted
			o.host.releaseSpare(s)
		default:
		}
	case handoverDialing, handoverSettling, handoverDraining:
		o.host.releaseSpare(ho.left)
	}
	if ho.phase != handoverNone {
		o.log.Debug("notify: handover phase", "shard", o.num, "from", ho.phase, "to", handoverNone)
	}
}

// takeSpare gives o a spare channel for a handover if one is free, with
// the session a handover left, if any, so no channel beyond them is
// created; else it queues o, which later gets one on o.spare. The spares
// are the channels of WithMaxChannels that owners never take, so however
// the set grows meanwhile, the client holds at most WithMaxChannels.
func (c *Client) takeSpare(o *owner) (wire.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handovers < c.spares() {
		c.handovers++
		return c.leftSession(), true
	}
	if !slices.Contains(c.queued, o) {
		c.queued = append(c.queued, o)
	}
	return nil, false
}

// spares is how many channels handovers may hold at once.
func (c *Client) spares() int { return c.cfg.maxChannels - c.maxOwners() }

// leftSession takes the oldest session a handover left, or nil. The
// caller holds c.mu.
func (c *Client) leftSession() wire.Session {
	if len(c.left) == 0 {
		return nil
	}
	s := c.left[0]
	c.left = c.left[1:]
	return s
}

// releaseSpare returns a spare channel, with the session left on it if
// it may be reused, and hands it to the next owner waiting for one.
func (c *Client) releaseSpare(left wire.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handovers--
	if left != nil && len(c.left) < c.cfg.maxChannels {
		c.left = append(c.left, left)
	}
	for len(c.queued) > 0 && c.handovers < c.spares() {
		o := c.queued[0]
		c.queued = c.queued[1:]
		c.handovers++
		o.spare <- c.leftSession()
	}
}

// unqueue takes o out of the line for a spare channel.
func (c *Client) unqueue(o *owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued = slices.DeleteFunc(c.queued, func(q *owner) bool { return q == o })
}
