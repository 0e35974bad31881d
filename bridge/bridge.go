package bridge

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrDrainTimeout is returned by Run when Config.DrainTimeout ended before
// every buffered notification and lifecycle record was published. The
// error that wraps it names the replica, what was left and why: NATS
// unreachable, with the last connection error, or the last publishing
// error.
var ErrDrainTimeout = errors.New("bridge: drain timed out")

// Bridge publishes the events of one notify.Client to JetStream. Create it
// with New and start it with Run.
type Bridge struct {
	cfg     Config
	buf     *buffer
	st      counters
	conn    atomic.Pointer[nats.Conn]
	connErr atomic.Pointer[error] // the last failed attempt to connect to NATS
	started atomic.Bool
}

// New checks cfg and returns a bridge for it. It does not connect: Run
// does.
func New(cfg Config) (*Bridge, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("replica", cfg.Replica)
	cfg.Logger = log
	return &Bridge{cfg: cfg, buf: newBuffer(cfg.BufferSize, cfg.Replica, log)}, nil
}

// Run connects to NATS, runs the client and publishes its events until ctx
// ends or the client stops for good (such as notify.ErrUnauthorized).
// Then it closes the client, so nothing more is read from Genesys,
// publishes what it holds within Config.DrainTimeout, closes the NATS
// connection and returns: nil after a complete drain, the client's error
// if it stopped by itself, or an error matching ErrDrainTimeout. Run may
// be called once; NATS being unreachable is not an error while Run runs,
// the bridge buffers until it is back, but it is one at the end if what
// was held could not be published within Config.DrainTimeout.
func (b *Bridge) Run(ctx context.Context) error {
	client := b.cfg.Client
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("bridge: Run called twice")
	}
	wake := make(chan struct{}, 1)
	nc, err := b.connect(wake)
	if err != nil {
		client.Close()
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(b.cfg.AckTimeout),
		jetstream.WithPublishAsyncMaxPending(2*b.cfg.MaxInFlight))
	if err != nil {
		client.Close()
		return err
	}

	clientErr := make(chan error, 1)
	go func() { clientErr <- client.Run(ctx) }()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		b.read(client.Events())
	}()
	pubCtx, stopPub := context.WithCancel(context.Background())
	defer stopPub()
	p := &publisher{cfg: &b.cfg, log: b.cfg.Logger, nc: nc, js: js, buf: b.buf, st: &b.st, wake: wake, runID: rand.Text()[:10]}
	pubErr := make(chan error, 1)
	go func() { pubErr <- p.run(pubCtx) }()
	where := nc.ConnectedUrlRedacted()
	if where == "" {
		where = "connecting to " + RedactURLs(b.cfg.NATSURL)
	}
	b.cfg.Logger.Info("bridge: running", "nats", where, "stream", b.cfg.Stream.Name)

	var runErr error
	select {
	case <-ctx.Done():
		client.Close()
		runErr = <-clientErr
	case runErr = <-clientErr:
		client.Close()
	}
	if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) || errors.Is(runErr, notify.ErrClosed) {
		runErr = nil
	}
	<-readDone // Events() is closed: nothing more will come
	b.buf.close()

	start := time.Now()
	stop := time.AfterFunc(b.cfg.DrainTimeout, stopPub)
	defer stop.Stop()
	perr := <-pubErr
	return b.finish(runErr, perr, p, nc, time.Since(start))
}

// finish records and logs the outcome of Run.
func (b *Bridge) finish(runErr, pubErr error, p *publisher, nc *nats.Conn, drain time.Duration) error {
	held, _, _ := b.buf.counts()
	left := held + p.unsent()
	records := b.buf.recordsHeld() + p.unsentRecords()
	b.st.mu.Lock()
	b.st.unpublished, b.st.drain = left, drain
	b.st.mu.Unlock()
	st := b.Stats()
	b.cfg.Logger.Info("bridge: stopped", "received", st.Received, "published", st.Published,
		"duplicates", st.Duplicates, "records", st.Records, "dropped", st.Dropped, "refused", st.Refused,
		"clientDropped", st.ClientDropped, "unpublished", left, "drain", drain.Round(time.Millisecond))
	if pubErr != nil && left+records > 0 {
		err := fmt.Errorf("%w: replica %s: %s and %s not published within %v: %s",
			ErrDrainTimeout, b.cfg.Replica, plural(left, "notification"), plural(records, "lifecycle record"),
			b.cfg.DrainTimeout, b.cause(nc, st.LastError))
		return errors.Join(runErr, err)
	}
	return runErr
}

// plural returns "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// cause says why publishing did not finish: NATS unreachable, with the
// last connection error, or the last publishing error.
func (b *Bridge) cause(nc *nats.Conn, lastErr error) string {
	if !nc.IsConnected() {
		s := "not connected to NATS at " + RedactURLs(b.cfg.NATSURL)
		if err := b.connErr.Load(); err != nil {
			s += ": " + (*err).Error()
		}
		return s
	}
	if lastErr != nil {
		return "publishing failed: " + lastErr.Error()
	}
	return "no acknowledgement from JetStream in time"
}

// RedactURLs returns a comma-separated list of URLs, such as
// Config.NATSURL, with their user information (a password or a token)
// replaced by "xxxxx", for logs and errors.
func RedactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, s := range parts {
		s = strings.TrimSpace(s)
		if u, err := url.Parse(s); err == nil && u.User != nil {
			u.User = url.User("xxxxx")
			s = u.String()
		}
		parts[i] = s
	}
	return strings.Join(parts, ",")
}

// readBatch is the most events the reader moves into the buffer at once.
const readBatch = 256

// read moves the client's events into the buffer until the client closes
// Events. It never waits for the publisher; it takes what is waiting in
// Events in batches, so that it keeps up with a fast socket.
func (b *Bridge) read(events <-chan notify.Event) {
	batch := make([]notify.Event, 0, readBatch)
	for ev := range events {
		batch = append(batch[:0], ev)
	more:
		for len(batch) < readBatch {
			select {
			case ev, ok := <-events:
				if !ok {
					break more
				}
				batch = append(batch, ev)
			default:
				break more
			}
		}
		for _, ev := range batch {
			b.st.count(ev)
			b.logEvent(ev)
		}
		b.buf.push(time.Now(), batch...)
		clear(batch)
	}
}

// logEvent logs the client's lifecycle events.
func (b *Bridge) logEvent(ev notify.Event) {
	log := b.cfg.Logger
	switch ev := ev.(type) {
	case notify.Connected:
		log.Info("bridge: genesys connected", "channel", ev.ChannelID, "reconnect", ev.Reconnect,
			"gap", ev.Gap, "downtime", ev.Downtime.Round(time.Millisecond))
	case notify.Disconnected:
		log.Warn("bridge: genesys disconnected", "channel", ev.ChannelID, "err", ev.Err, "retryIn", ev.RetryIn.Round(time.Millisecond))
	case notify.Rejected:
		log.Error("bridge: topic rejected", "topic", ev.Topic, "reason", ev.Reason, "missing", ev.MissingPermissions)
	case notify.Dropped:
		log.Error("bridge: notify client dropped notifications", "count", ev.Count)
	}
}

// connect connects to NATS, or keeps trying in the background if it is
// not reachable; wake is signalled on every (re)connection.
func (b *Bridge) connect(wake chan struct{}) (*nats.Conn, error) {
	signal := func(*nats.Conn) {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	log := b.cfg.Logger
	opts := []nats.Option{
		nats.Name("gcnotify-bridge " + b.cfg.Replica),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ConnectHandler(func(nc *nats.Conn) {
			log.Info("bridge: nats connected", "url", nc.ConnectedUrlRedacted())
			signal(nc)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("bridge: nats reconnected", "url", nc.ConnectedUrlRedacted())
			signal(nc)
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			b.connErr.Store(&err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil when the bridge closes the connection
				log.Warn("bridge: nats disconnected", "err", err)
			}
		}),
	}
	nc, err := nats.Connect(b.cfg.NATSURL, append(opts, b.cfg.NATSOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("bridge: connecting to NATS: %w", err)
	}
	b.conn.Store(nc)
	return nc, nil
}
