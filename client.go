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

	catalog *catalog         // WithTopicCatalog; nil without it (catalog.go)
	reader  wire.StateReader // WithSnapshots: reads state after a Dropped; nil without it
	grammar wire.Grammar     // the protocol's topic grammar

	dedupMu sync.Mutex
	dedup   atomic.Pointer[dedup] // set while two connections may deliver one event

	mu       sync.Mutex // guards the placement, the spares, run and closed
	owners   []*owner   // at least one; an owner is one channel's worth of topics
	where    map[string]*owner
	load     map[*owner]int                // topics routed to each owner, by weight
	retiring *owner                        // being emptied into the others; nil if none
	stops    map[*owner]context.CancelFunc // of the running owners
	made     int                           // owners made so far, which numbers them
	run      *runGroup                     // the running owners; nil outside Run
	closed   bool                          // Run has returned or Close was called
	kick     chan struct{}                 // wakes the resharder

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
	if err := sourceError(ts); err != nil { // hook: an unknown environment fails here (auth.go)
		return nil, err
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
		load:   map[*owner]int{},
		stops:  map[*owner]context.CancelFunc{},
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	c.grammar = genesys.Grammar
	if cfg.tokenFrameURL != "" {
		c.grammar = tokenframe.Grammar
	}
	c.api = &genesys.API{Base: cfg.apiBaseURL(), HTTP: cfg.httpClient, Tokens: c.tokens, Budget: c.budget, Clock: cfg.clock}
	c.catalog = newCatalog(cfg, c.api, c.log)
	cfg.trace.attach(c)
	if cfg.snapshots {
		if sr, ok := c.newProtocol(0).(wire.StateReader); ok {
			c.reader = sr
			c.out.onDropped = c.resyncDropped
		}
	}
	c.owners = []*owner{c.newOwner()}
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	return c, nil
}

// newOwner returns an owner with an empty set. The caller holds c.mu, or
// has the client to itself.
func (c *Client) newOwner() *owner {
	c.made++
	return newOwner(c, &c.cfg, c.out, c.newProtocol(c.made), c.made)
}

// newProtocol returns the wire protocol for the owner numbered num (from
// 1), or for the client itself (0), which reads state after a Dropped.
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
	c.startCatalog(runCtx, &g.wg) // WithTopicCatalog: read before anything is subscribed
	c.mu.Lock()
	c.run = g
	for _, o := range c.owners {
		c.start(o)
	}
	c.mu.Unlock()
	g.wg.Go(func() { c.reshard(runCtx) })

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
	if g == nil || c.stops[o] != nil {
		return
	}
	ctx, cancel := context.WithCancel(g.ctx)
	c.stops[o] = cancel
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

// The rest of host, the client as its owners see it.

func (c *Client) nextGen() uint64                { return c.gen.Add(1) }
func (c *Client) failed(err error, at time.Time) { c.stats.failed(err, at) }
func (c *Client) reconnected()                   { c.stats.reconnects.Add(1) }
func (c *Client) invalidateToken()               { c.tokens.Invalidate() }
func (c *Client) paced() bool                    { return c.budget.busy() }
func (c *Client) logger() *slog.Logger           { return c.log }
