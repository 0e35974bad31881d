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
	c.tr = newGenesysTransport(&c.cfg, c.tokens)
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
		gen      uint64
		failures int       // attempts in a row that failed or ended early
		why      error     // what ended the previous attempt
		lostAt   time.Time // when the last connection ended; zero before the first
	)
	for {
		gen++
		channel := ""
		l, err := c.connect(ctx, gen, why)
		if err == nil {
			channel = l.channelID()
			c.log.Info("notify: connected", "channel", channel, "gen", gen, "topics", len(c.set.sorted()))
			c.out.push(Connected{ChannelID: channel, Reconnect: !lostAt.IsZero(), Gap: !lostAt.IsZero(), Downtime: since(lostAt)})
			up := time.Now()
			err = c.serve(ctx, l)
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
		c.log.Warn("notify: disconnected", "channel", channel, "gen", gen, "err", err, "retry_in", wait)
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
// the topics the server refused, and makes it the live connection.
func (c *Client) connect(ctx context.Context, gen uint64, why error) (*liveLink, error) {
	if err := c.set.lock(ctx); err != nil {
		return nil, err
	}
	defer c.set.unlock()
	l, rejected, err := c.tr.connect(ctx, c.set.sorted(), why)
	if err != nil {
		return nil, err
	}
	c.reject(rejected)
	ll := &liveLink{link: l, gen: gen}
	c.set.live.Store(ll)
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

// serve runs the connection's reader and watches it for silence until the
// reader ends, and returns why the connection ended.
func (c *Client) serve(ctx context.Context, l *liveLink) error {
	var last atomic.Int64 // unix nanoseconds of the last frame read
	last.Store(time.Now().UnixNano())
	readErr := make(chan error, 1)
	go func() { readErr <- c.read(ctx, l, &last) }()

	hb := c.cfg.heartbeat
	timer := time.NewTimer(hb)
	defer timer.Stop()
	pinged := false
	for {
		select {
		case err := <-readErr:
			c.set.live.Store(nil)
			l.fail(err)
			return l.cause()
		case <-timer.C:
			idle := time.Since(time.Unix(0, last.Load()))
			switch {
			case idle < hb:
				pinged = false
				timer.Reset(hb - idle)
			case !pinged:
				pinged = true
				c.ping(ctx, l, hb/2)
				timer.Reset(hb / 2)
			default:
				l.fail(fmt.Errorf("%w: nothing for %v", ErrHeartbeatTimeout, idle.Round(time.Millisecond)))
			}
		}
	}
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
func (c *Client) read(ctx context.Context, l *liveLink, last *atomic.Int64) error {
	for {
		f, err := l.read(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		last.Store(now.UnixNano())
		switch f.kind {
		case frameEvent:
			f.n.Received = now
			c.out.push(f.n)
		case frameInvalid:
			c.log.Warn("notify: skipping an undecodable frame", "channel", l.channelID(), "gen", l.gen, "err", f.err)
		case frameClosing:
			return fmt.Errorf("%w: channel %s", ErrPlannedClose, l.channelID())
		case frameGone:
			return fmt.Errorf("%w: channel %s", ErrChannelGone, l.channelID())
		case frameRevoked:
			c.tokens.invalidate()
			return fmt.Errorf("%w: channel %s", ErrTokenRevoked, l.channelID())
		}
	}
}

// liveLink is a connection tagged with its generation. fail ends it and
// records why, once, from any goroutine.
type liveLink struct {
	link
	gen uint64

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
