package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify/internal/genesys"
	"github.com/gcnotify/notify/internal/tokenframe"
	"github.com/gcnotify/notify/internal/wire"
)

// Client keeps a notification stream alive for as long as Run runs. It is
// safe for use by multiple goroutines.
//
// A set of more than 1,000 topics is spread over several channels (see
// MaxTopics), each with its own owner goroutine, socket, heartbeat watch
// and reconnects; their events all arrive on the one Events() stream.
type Client struct {
	cfg    config
	log    *slog.Logger
	tokens *tokens
	budget *budget
	api    *genesys.API
	out    *outbox
	gen    atomic.Uint64 // numbers connections
	stats  counters

	dedupMu sync.Mutex
	dedup   atomic.Pointer[dedup] // set while two connections may deliver one event

	reshard sync.Mutex // held while topics move between owners

	mu     sync.Mutex // guards owners, where, made, run, closed and the owners' routing fields
	owners []*owner   // at least one; an owner is one channel's worth of topics
	where  map[string]*owner
	made   int       // owners made so far, which numbers them
	run    *runGroup // the running owners; nil outside Run
	closed bool      // Run has returned or Close was called

	handovers int            // spare channels held by handovers
	queued    []*owner       // owners waiting for a spare channel, in order
	left      []wire.Session // sessions handovers left, for the next ones

	closeCtx    context.Context // done once Close is called
	closeCancel context.CancelFunc
	started     atomic.Bool   // Run (or Close before Run) has begun
	done        chan struct{} // closed when Run has returned
}

// runGroup is the owners of one Run.
type runGroup struct {
	ctx   context.Context
	wg    sync.WaitGroup
	fatal chan error // the first permanent error of any owner
}

// New returns a client that gets its tokens from ts. It checks the options
// but does not connect: Run does. A ts from ClientCredentials names the
// environment, so WithEnvironment is not needed; a different one is an
// error.
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
	if cs, ok := ts.(credentialsSource); ok {
		if cfg.envSet && cfg.env != cs.env {
			return nil, fmt.Errorf("notify: the token source is for %s but WithEnvironment names %s", cs.env, cfg.env)
		}
		cfg.env = cs.env
	}
	c := &Client{
		cfg:    cfg,
		log:    cfg.logger,
		tokens: &tokens{src: ts, clock: cfg.clock},
		budget: newBudget(cfg.requestBudget, cfg.clock),
		out:    newOutbox(cfg.eventBuffer),
		where:  map[string]*owner{},
		done:   make(chan struct{}),
	}
	c.api = &genesys.API{Base: cfg.apiBaseURL(), HTTP: cfg.httpClient, Tokens: c.tokens, Budget: c.budget, Clock: cfg.clock}
	cfg.trace.attach(c) // trace hook
	c.owners = []*owner{c.newOwner()}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	return c, nil
}

// newOwner returns an owner with an empty set. The caller holds c.mu, or
// has the client to itself.
func (c *Client) newOwner() *owner {
	c.made++
	return newOwner(c, c.made)
}

// newProtocol returns the wire protocol for the owner numbered num.
func (c *Client) newProtocol(num int) wire.Protocol {
	if c.cfg.protocol != nil {
		return c.cfg.protocol(num)
	}
	wc := wire.Config{
		HTTP:        c.cfg.httpClient,
		Tokens:      c.tokens,
		Budget:      c.budget,
		Clock:       c.cfg.clock,
		Log:         c.log,
		ReadLimit:   c.cfg.readLimit,
		Heartbeat:   c.cfg.heartbeat,
		RenewMargin: c.cfg.renewMargin,
	}
	if c.cfg.tokenFrameURL != "" {
		return tokenframe.New(wc, c.cfg.tokenFrameURL, num)
	}
	apiHost := ""
	if c.cfg.apiBase != nil {
		apiHost = c.cfg.apiBase.Host
	}
	return genesys.New(wc, c.api, c.cfg.env, apiHost)
}

// Events returns the stream of events, in order. The client closes it when
// Run returns; events already in it stay readable.
func (c *Client) Events() <-chan Event { return c.out.ch }

// Run connects, subscribes the topic set and keeps the stream alive until
// ctx ends, Close is called or a permanent error occurs (such as
// ErrUnauthorized, or the last error once WithMaxAttempts is reached). It
// returns ErrClosed after Close and ctx's error when ctx ends.
//
// Run may be called once; a second call returns ErrAlreadyRunning while
// the first runs, ErrClosed after. When Run returns the client is closed:
// Events() is closed, and Subscribe and Unsubscribe return ErrClosed.
func (c *Client) Run(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		select {
		case <-c.done:
			return ErrClosed
		default:
		}
		if c.closeCtx.Err() != nil {
			return ErrClosed
		}
		return ErrAlreadyRunning
	}
	defer close(c.done)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.closeCtx, cancel)()

	g := &runGroup{ctx: runCtx, fatal: make(chan error, 1)}
	c.mu.Lock()
	c.run = g
	for _, o := range c.owners {
		c.start(o)
	}
	c.mu.Unlock()

	var err error
	select {
	case err = <-g.fatal:
	case <-runCtx.Done():
	}
	cancel()
	c.mu.Lock()
	c.run, c.closed = nil, true
	c.mu.Unlock()
	g.wg.Wait()
	closed := c.closeCtx.Err() != nil
	c.closeCancel()
	c.out.shutdown()
	switch {
	case closed:
		return ErrClosed
	case ctx.Err() != nil:
		return ctx.Err()
	}
	c.log.Error("notify: stopped", "err", err)
	return err
}

// start runs the owner if Run is running and it is not started. The
// caller holds c.mu.
func (c *Client) start(o *owner) {
	g := c.run
	if g == nil || o.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(g.ctx)
	o.stop = cancel
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer close(o.exited)
		defer cancel()
		if err := o.run(ctx); err != nil {
			select {
			case g.fatal <- err:
			default:
			}
		}
	}()
}

// takeSpare gives o a spare channel for a handover if the client holds
// fewer than WithMaxChannels, with the session a handover left, if any,
// so no channel beyond them is created; else it queues o, which later
// gets one on o.spare.
func (c *Client) takeSpare(o *owner) (wire.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.owners)+c.handovers < c.cfg.maxChannels {
		c.handovers++
		return c.leftSession(), true
	}
	if !slices.Contains(c.queued, o) {
		c.queued = append(c.queued, o)
	}
	return nil, false
}

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
	for len(c.queued) > 0 && len(c.owners)+c.handovers < c.cfg.maxChannels {
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

// Close stops Run, waits until every goroutine of the client has exited
// and closes Events(). Calls in flight return ErrClosed. It is idempotent
// and safe from any goroutine.
func (c *Client) Close() error {
	c.closeCancel()
	if c.started.CompareAndSwap(false, true) {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.out.shutdown()
		close(c.done)
	}
	<-c.done
	return nil
}
