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

// Client keeps a notification stream alive for as long as Run runs. It is
// safe for use by multiple goroutines.
//
// A set of more than 1,000 topics is spread over several channels (see
// MaxTopics), each with its own socket, heartbeat watch and reconnects;
// their events all arrive on the one Events() stream.
type Client struct {
	cfg    config
	log    *slog.Logger
	tokens *tokens
	out    *outbox
	gen    atomic.Uint64 // generation of the newest connection of any shard
	stats  counters

	dedupMu sync.Mutex
	dedup   atomic.Pointer[dedup] // set while two connections may deliver one event

	assign chan struct{} // held while Subscribe or Unsubscribe changes the set

	mu     sync.Mutex // guards shards, made and run
	shards []*shard   // at least one; a shard is one channel's worth of topics
	made   int        // shards made so far, which numbers them
	run    *runGroup  // the running supervisors; nil outside Run

	closeCtx    context.Context // done once Close is called
	closeCancel context.CancelFunc
	started     atomic.Bool   // Run (or Close before Run) has begun
	done        chan struct{} // closed when Run has returned
}

// runGroup is the supervisors of one Run.
type runGroup struct {
	ctx   context.Context
	wg    sync.WaitGroup
	fatal chan error // the first permanent error of any shard
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
		out:    newOutbox(cfg.eventBuffer),
		assign: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	c.shards = []*shard{c.newShard()}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	return c, nil
}

// newShard returns an empty shard with a transport of its own. The caller
// holds c.mu, or has the client to itself.
func (c *Client) newShard() *shard {
	c.made++
	sh := &shard{set: newTopicSet()}
	if c.cfg.tokenFrameURL != "" {
		sh.tr = newTokenFrameTransport(&c.cfg, c.tokens, c.made)
	} else {
		sh.tr = newGenesysTransport(&c.cfg, c.tokens)
	}
	return sh
}

// Events returns the stream of events, in order. The client closes it when
// Run returns; events already in it stay readable.
func (c *Client) Events() <-chan Event { return c.out.ch }

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

	g := &runGroup{ctx: runCtx, fatal: make(chan error, 1)}
	c.mu.Lock()
	c.run = g
	for _, sh := range c.shards {
		c.start(sh)
	}
	c.mu.Unlock()

	var err error
	select {
	case err = <-g.fatal:
	case <-runCtx.Done():
	}
	cancel()
	c.mu.Lock()
	c.run = nil
	c.mu.Unlock()
	g.wg.Wait()
	c.out.shutdown()
	switch {
	case c.closeCtx.Err() != nil:
		return ErrClosed
	case ctx.Err() != nil:
		return ctx.Err()
	}
	c.log.Error("notify: stopped", "err", err)
	return err
}

// start runs the shard's supervisor if Run is running and it has none.
// The caller holds c.mu.
func (c *Client) start(sh *shard) {
	g := c.run
	if g == nil || sh.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(g.ctx)
	sh.stop = cancel
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer cancel()
		if err := c.supervise(ctx, sh); err != nil && ctx.Err() == nil {
			select {
			case g.fatal <- err:
			default:
			}
		}
	}()
}

// Close stops Run, waits until every goroutine of the client has exited
// and closes Events(). It is idempotent and safe from any goroutine.
func (c *Client) Close() error {
	c.closeCancel()
	if c.started.CompareAndSwap(false, true) {
		c.out.shutdown()
		close(c.done)
	}
	<-c.done
	return nil
}

// supervise is the one goroutine that changes a shard's connection state:
// it connects, serves the connection until it ends, and waits out the
// backoff.
func (c *Client) supervise(ctx context.Context, sh *shard) error {
	policy := newRetryPolicy(c.cfg.backoffInitial, c.cfg.backoffMax)
	var (
		failures int       // attempts in a row that failed or ended early
		why      error     // what ended the previous attempt
		lostAt   time.Time // when the last connection ended; zero before the first
	)
	for {
		channel := ""
		l, err := c.connect(ctx, sh, why)
		if err == nil {
			c.log.Info("notify: connected", "channel", l.channelID(), "gen", l.gen)
			c.connected(Connected{ChannelID: l.channelID(), Reconnect: !lostAt.IsZero(), Gap: !lostAt.IsZero(), Downtime: since(lostAt)})
			up := time.Now()
			channel, err = c.serve(ctx, sh, l)
			lostAt = time.Now()
			if lostAt.Sub(up) >= c.cfg.backoffMax {
				policy.reset()
				failures = 0
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.stats.failed(err)
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

// connected reports a new connection.
func (c *Client) connected(ev Connected) {
	if ev.Reconnect {
		c.stats.reconnects.Add(1)
	}
	c.out.push(ev)
}

// connect opens a connection for the shard with its whole set replayed,
// reports the topics the server refused, makes it the shard's live
// connection and starts its reader.
func (c *Client) connect(ctx context.Context, sh *shard, why error) (*liveLink, error) {
	if err := sh.set.lock(ctx); err != nil {
		return nil, err
	}
	defer sh.set.unlock()
	l, rejected, err := sh.tr.connect(ctx, sh.set.sorted(), why)
	if err != nil {
		return nil, err
	}
	c.reject(sh, rejected)
	ll := &liveLink{link: l, gen: c.gen.Add(1), readErr: make(chan error, 1), closing: make(chan struct{}, 1)}
	sh.set.live.Store(ll)
	go func() { ll.readErr <- c.read(ll) }()
	return ll, nil
}

// reject removes refused topics from the shard's set and reports them. The
// caller holds the set's semaphore.
func (c *Client) reject(sh *shard, rejected []Rejected) error {
	for _, r := range rejected {
		c.log.Warn("notify: topic rejected", "topic", r.Topic, "reason", r.Reason, "missing", r.MissingPermissions)
		c.out.push(r)
	}
	return sh.set.drop(rejected)
}
