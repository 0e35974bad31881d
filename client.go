package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// Client keeps one notification stream alive for as long as Run runs. It
// is safe for use by multiple goroutines.
type Client struct {
	cfg    config
	log    *slog.Logger
	tokens *tokens
	tr     transport
	set    *topicSet
	out    *outbox
	gen    uint64                // generation of the newest connection; supervisor only
	dedup  atomic.Pointer[dedup] // set while a handover may deliver an event twice

	closeCtx    context.Context // done once Close is called
	closeCancel context.CancelFunc
	started     atomic.Bool   // Run (or Close before Run) has begun
	done        chan struct{} // closed when Run has returned
}

// New returns a client that gets its tokens from ts. It checks the options
// but does not connect: Run does.
func New(ts oauth2.TokenSource, opts ...Option) (*Client, error) {
	if ts == nil {
		return nil, errors.New("notify: nil token source")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Client{
		cfg:    cfg,
		log:    cfg.logger,
		tokens: &tokens{src: ts},
		set:    newTopicSet(),
		out:    newOutbox(cfg.eventBuffer),
		done:   make(chan struct{}),
	}
	if cfg.tokenFrameURL != "" {
		c.tr = newTokenFrameTransport(&c.cfg, c.tokens)
	} else {
		c.tr = newGenesysTransport(&c.cfg, c.tokens)
	}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	return c, nil
}

// Events returns the stream of events, in order. The client closes it when
// Run returns; events already in it stay readable.
func (c *Client) Events() <-chan Event { return c.out.ch }

// Topics returns the desired topic set, sorted. While connected it equals
// the set subscribed on the server.
func (c *Client) Topics() []string { return c.set.sorted() }

// Run connects, subscribes the topic set and keeps the stream alive until
// ctx ends, Close is called or a permanent error occurs (such as
// ErrUnauthorized, or the last error once WithMaxAttempts is reached). It
// returns ErrClosed after Close and ctx's error when ctx ends. Events() is
// closed when Run returns. Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		if c.closeCtx.Err() != nil {
			return ErrClosed
		}
		return errors.New("notify: Run called twice")
	}
	defer close(c.done)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.closeCtx, cancel)()

	go c.out.pump()
	err := c.supervise(runCtx)
	c.out.shutdown(true)
	switch {
	case c.closeCtx.Err() != nil:
		return ErrClosed
	case ctx.Err() != nil:
		return ctx.Err()
	}
	c.log.Error("notify: stopped", "err", err)
	return err
}

// Close stops Run, waits until every goroutine of the client has exited
// and closes Events(). It is idempotent and safe from any goroutine.
func (c *Client) Close() error {
	c.closeCancel()
	if c.started.CompareAndSwap(false, true) {
		c.out.shutdown(false)
		close(c.done)
	}
	<-c.done
	return nil
}

// supervise is the one goroutine that changes connection state: it
// connects, serves the connection until it ends, and waits out the backoff.
func (c *Client) supervise(ctx context.Context) error {
	policy := newRetryPolicy(c.cfg.backoffInitial, c.cfg.backoffMax)
	var (
		failures int       // attempts in a row that failed or ended early
		why      error     // what ended the previous attempt
		lostAt   time.Time // when the last connection ended; zero before the first
	)
	for {
		channel := ""
		l, err := c.connect(ctx, why)
		if err == nil {
			c.log.Info("notify: connected", "channel", l.channelID(), "gen", l.gen)
			c.out.push(Connected{ChannelID: l.channelID(), Reconnect: !lostAt.IsZero(), Gap: !lostAt.IsZero(), Downtime: since(lostAt)})
			up := time.Now()
			channel, err = c.serve(ctx, l)
			lostAt = time.Now()
			if lostAt.Sub(up) >= c.cfg.backoffMax {
				policy.reset()
				failures = 0
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if permanent(err) {
			return err
		}
		failures++
		if c.cfg.maxAttempts > 0 && failures >= c.cfg.maxAttempts {
			return fmt.Errorf("notify: giving up after %d attempts: %w", failures, err)
		}
		why = err
		wait := policy.next(err)
		c.log.Warn("notify: disconnected", "channel", channel, "err", err, "retry_in", wait)
		c.out.push(Disconnected{ChannelID: channel, Err: err, RetryIn: wait})
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

func since(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return time.Since(t)
}

// connect opens a connection with the whole set replayed on it, reports
// the topics the server refused, makes it the live connection and starts
// its reader.
func (c *Client) connect(ctx context.Context, why error) (*liveLink, error) {
	if err := c.set.lock(ctx); err != nil {
		return nil, err
	}
	defer c.set.unlock()
	l, rejected, err := c.tr.connect(ctx, c.set.sorted(), why)
	if err != nil {
		return nil, err
	}
	c.reject(rejected)
	c.gen++
	ll := &liveLink{link: l, gen: c.gen, readErr: make(chan error, 1), closing: make(chan struct{}, 1)}
	c.set.live.Store(ll)
	go func() { ll.readErr <- c.read(ctx, ll) }()
	return ll, nil
}

// reject removes refused topics from the set and reports them. The caller
// holds the set's semaphore.
func (c *Client) reject(rejected []Rejected) error {
	for _, r := range rejected {
		c.log.Warn("notify: topic rejected", "topic", r.Topic, "reason", r.Reason, "missing", r.MissingPermissions)
		c.out.push(r)
	}
	return c.set.drop(rejected)
}

// serve watches the connection until its reader ends: it pings a silent
// socket and replaces a dead one, renews the channel before it expires,
// and hands over to a new connection when the server announces a close.
// It returns the last connection's channel and why it ended.
func (c *Client) serve(ctx context.Context, cur *liveLink) (string, error) {
	hb := c.cfg.heartbeat
	watch := time.NewTimer(hb)
	defer watch.Stop()
	renew := time.NewTimer(renewIn(cur))
	defer renew.Stop()
	forget := time.NewTimer(0) // ends the de-duplication after a handover
	<-forget.C
	defer forget.Stop()
	var (
		pinged    bool
		old       *liveLink // a connection being let go after a handover
		announced bool      // cur's server announced a close that no handover answered
	)
	for {
		var oldDone <-chan error
		if old != nil {
			oldDone = old.readErr
		}
		select {
		case err := <-cur.readErr:
			c.set.live.CompareAndSwap(cur, nil)
			cur.fail(err)
			if old != nil {
				old.fail(errHandedOver)
				<-old.readErr
			}
			c.dedup.Store(nil)
			if err = cur.cause(); announced && !errors.Is(err, ErrPlannedClose) {
				err = fmt.Errorf("%w: %w", ErrPlannedClose, err)
			}
			return cur.channelID(), err

		case <-oldDone:
			old = nil
			forget.Reset(hb)

		case <-forget.C:
			c.dedup.Store(nil)

		case <-cur.closing:
			next, err := c.handover(ctx, cur)
			if err != nil {
				c.log.Warn("notify: handover failed; staying until the server closes", "channel", cur.channelID(), "err", err)
				announced = true
				continue
			}
			old, cur = cur, next
			pinged, announced = false, false
			watch.Reset(hb)
			renew.Reset(renewIn(cur))

		case <-watch.C:
			idle := time.Since(cur.seen())
			switch {
			case idle < hb:
				pinged = false
				watch.Reset(hb - idle)
			case !pinged:
				pinged = true
				c.ping(ctx, cur, hb/2)
				watch.Reset(hb / 2)
			default:
				cur.fail(fmt.Errorf("%w: nothing for %v", ErrHeartbeatTimeout, idle.Round(time.Millisecond)))
			}

		case <-renew.C:
			if c.renew(ctx, cur) {
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
func (c *Client) handover(ctx context.Context, old *liveLink) (*liveLink, error) {
	c.dedup.CompareAndSwap(nil, newDedup())
	next, err := c.connect(ctx, fmt.Errorf("%w: channel %s", ErrPlannedClose, old.channelID()))
	if err != nil {
		return nil, err
	}
	c.log.Info("notify: handed over", "from", old.channelID(), "to", next.channelID(), "gen", next.gen)
	c.out.push(Connected{ChannelID: next.channelID(), Reconnect: true})
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
func (c *Client) renew(ctx context.Context, l *liveLink) bool {
	if err := c.set.lock(ctx); err != nil {
		return false
	}
	defer c.set.unlock()
	rejected, err := l.renew(ctx, c.set.sorted())
	if err != nil {
		c.log.Warn("notify: renewing the connection failed", "channel", l.channelID(), "err", err)
		return false
	}
	c.reject(rejected)
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
func (c *Client) read(ctx context.Context, l *liveLink) error {
	for {
		f, err := l.read(ctx)
		if err != nil {
			return err
		}
		switch f.kind {
		case frameEvent:
			if d := c.dedup.Load(); d != nil && d.duplicate(l.gen, &f.n) {
				continue
			}
			f.n.Received = time.Now()
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
