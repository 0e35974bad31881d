package notify

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// serve watches the connection until its reader ends: it pings a silent
// socket and replaces a dead one, renews the channel before it expires,
// and hands over to a new connection when the server announces a close.
// It returns the last connection's channel and why it ended.
func (c *Client) serve(ctx context.Context, sh *shard, cur *liveLink) (string, error) {
	hb := c.cfg.heartbeat
	watch := time.NewTimer(hb)
	defer watch.Stop()
	renew := time.NewTimer(renewIn(cur))
	defer renew.Stop()
	var (
		pingedAt  time.Time // when the unanswered ping was sent; zero if none
		old       *liveLink // a connection being let go after a handover
		overlap   *dedup    // held from a handover until old is gone
		announced bool      // cur's server announced a close that no handover answered
	)
	for {
		var oldDone <-chan error
		if old != nil {
			oldDone = old.readErr
		}
		select {
		case err := <-cur.readErr:
			sh.set.live.CompareAndSwap(cur, nil)
			cur.fail(err)
			if old != nil {
				old.fail(errHandedOver)
				<-old.readErr
				c.releaseDedup(overlap)
			}
			if err = cur.cause(); announced && !errors.Is(err, ErrPlannedClose) {
				err = fmt.Errorf("%w: %w", ErrPlannedClose, err)
			}
			return cur.channelID(), err

		case <-oldDone:
			old = nil
			c.releaseDedup(overlap)

		case <-cur.closing:
			if old != nil { // the last handover's old connection is closing already
				<-old.readErr
				old = nil
				c.releaseDedup(overlap)
			}
			overlap = c.holdDedup()
			next, err := c.handover(ctx, sh, cur)
			if err != nil {
				c.releaseDedup(overlap)
				c.log.Warn("notify: handover failed; staying until the server closes", "channel", cur.channelID(), "err", err)
				announced = true
				continue
			}
			old, cur = cur, next
			pingedAt, announced = time.Time{}, false
			watch.Reset(hb)
			renew.Reset(renewIn(cur))

		case <-watch.C:
			// Alive means a frame or pong since the ping, if one was sent;
			// else one within hb. A late timer cannot make a live socket dead.
			seen := cur.seen()
			idle := time.Since(seen)
			switch {
			case pingedAt.IsZero() && idle < hb, !pingedAt.IsZero() && seen.After(pingedAt):
				pingedAt = time.Time{}
				watch.Reset(max(hb-idle, 0))
			case pingedAt.IsZero():
				pingedAt = time.Now()
				c.ping(ctx, cur, hb/2)
				watch.Reset(hb / 2)
			default:
				cur.fail(fmt.Errorf("%w: nothing for %v", ErrHeartbeatTimeout, idle.Round(time.Millisecond)))
			}

		case <-renew.C:
			if c.renew(ctx, sh, cur) {
				renew.Reset(renewIn(cur))
			} else {
				renew.Reset(c.cfg.backoffMax)
			}
		}
	}
}

// errHandedOver ends a connection that a handover replaced.
var errHandedOver = errors.New("notify: handed over to a new connection")

// handover answers a planned close make-before-break: it opens a new
// connection with the whole set, delivers Connected without a gap, reads
// the old socket to its end and lets it go. Events that both connections
// deliver meanwhile are passed on once.
func (c *Client) handover(ctx context.Context, sh *shard, old *liveLink) (*liveLink, error) {
	next, err := c.connect(ctx, sh, fmt.Errorf("%w: channel %s", ErrPlannedClose, old.channelID()))
	if err != nil {
		return nil, err
	}
	c.log.Info("notify: handed over", "from", old.channelID(), "to", next.channelID(), "gen", next.gen)
	c.connected(Connected{ChannelID: next.channelID(), Reconnect: true})
	if err := c.drain(ctx, old); err != nil {
		c.log.Warn("notify: old connection not drained", "channel", old.channelID(), "err", err)
	}
	old.fail(errHandedOver)
	return next, nil
}

// drain waits until l has read everything its server sent before now. It
// gives up only when l makes no progress for half the heartbeat timeout,
// so a long backlog is read to its end.
func (c *Client) drain(ctx context.Context, l *liveLink) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.drain(ctx) }()
	tick := time.NewTicker(c.cfg.heartbeat / 2)
	defer tick.Stop()
	last := l.seen()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			if now := l.seen(); !now.Equal(last) {
				last = now
				continue
			}
			cancel()
			<-done
			return fmt.Errorf("%w while draining", ErrHeartbeatTimeout)
		}
	}
}

// renewIn is how long until the connection's channel must be renewed.
func renewIn(l *liveLink) time.Duration {
	at := l.renewAt()
	if at.IsZero() {
		return maxWait
	}
	return max(time.Until(at), 0)
}

// maxWait stands for "never" in timers.
const maxWait = time.Duration(1<<63 - 1)

// renew replays the set on the live connection, which extends its
// channel, and reports whether that worked. If renewing keeps failing the
// channel expires, the server ends it and the client moves to a new one.
func (c *Client) renew(ctx context.Context, sh *shard, l *liveLink) bool {
	if err := sh.set.lock(ctx); err != nil {
		return false
	}
	defer sh.set.unlock()
	rejected, err := l.renew(ctx, sh.set.sorted())
	if err != nil {
		c.log.Warn("notify: renewing the connection failed", "channel", l.channelID(), "err", err)
		return false
	}
	c.reject(sh, rejected)
	return true
}

func (c *Client) ping(ctx context.Context, l *liveLink, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := l.ping(ctx); err != nil {
		c.log.Debug("notify: ping failed", "channel", l.channelID(), "gen", l.gen, "err", err)
	}
}

// read is the connection's reader goroutine: it delivers notifications
// and returns the error that ended the connection.
func (c *Client) read(l *liveLink) error {
	for {
		f, err := l.read()
		if err != nil {
			return err
		}
		switch f.kind {
		case frameEvent:
			if c.duplicate(l.gen, &f.n) {
				continue
			}
			c.out.push(f.n)
		case frameInvalid:
			c.log.Warn("notify: skipping an undecodable frame", "channel", l.channelID(), "gen", l.gen, "err", f.err)
		case frameClosing:
			select {
			case l.closing <- struct{}{}:
			default:
			}
		case frameGone:
			return fmt.Errorf("%w: channel %s", ErrChannelGone, l.channelID())
		case frameRevoked:
			c.tokens.invalidate()
			return fmt.Errorf("%w: channel %s", ErrTokenRevoked, l.channelID())
		}
	}
}

// liveLink is a connection tagged with its generation, with the state its
// reader shares with the supervisor. fail ends it and records why, once,
// from any goroutine.
type liveLink struct {
	link
	gen     uint64
	readErr chan error    // the reader's result
	closing chan struct{} // the server announced a close

	mu  sync.Mutex
	err error
}

func (l *liveLink) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		l.link.close()
	}
}

func (l *liveLink) cause() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}
