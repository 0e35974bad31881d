package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Feeder is what a demo plugs into Run: something that sends events to
// the bridges' Genesys sockets and checks the stream at the end.
type Feeder interface {
	// Start starts feeding the bridges, which are running.
	Start(bridges []*bridge.Bridge)
	// Quiesce stops feeding and waits, until deadline at most, until every
	// bridge has read from its socket what was sent to it, so that closing
	// the clients loses nothing.
	Quiesce(bridges []*bridge.Bridge, deadline time.Time)
	// Verify reads the stream back on nc and logs what it holds of the
	// events fed.
	Verify(ctx context.Context, nc *nats.Conn, stream string, log *slog.Logger) error
}

// verifyTimeout bounds Feeder.Verify, with NATS connected.
const verifyTimeout = time.Minute

// Run runs a bridge per configuration until ctx ends or one of them stops
// by itself, logging the status every -status-every, then stops them all
// (each drains its buffer within -drain-timeout) and logs a summary. feed, if not nil,
// feeds them and checks the stream at the end.
//
// Nothing after the stop waits for an unreachable NATS longer than the
// drain: the summary and the check read the stream only once the monitor's
// connection is up, and wait for it only until -drain-timeout after the
// stop, so Run returns within -drain-timeout of the stop, plus the time the
// feed's clients need to read what was sent to them.
func Run(ctx context.Context, o *Options, cfgs []bridge.Config, feed Feeder, log *slog.Logger) error {
	closeClients := func() {
		for _, c := range cfgs {
			c.Client.Close()
		}
	}
	var bridges []*bridge.Bridge
	for _, cfg := range cfgs {
		b, err := bridge.New(cfg)
		if err != nil {
			closeClients()
			return err
		}
		bridges = append(bridges, b)
	}
	mon, err := newMonitor(cfgs[0].NATSURL, o.Stream, cfgs[0].NATSOptions)
	if err != nil {
		closeClients()
		return err
	}
	defer mon.close()

	bctx, stop := context.WithCancel(context.Background())
	defer stop()
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(bridges))
	for i, b := range bridges {
		go func() { results <- result{i, b.Run(bctx)} }()
	}
	if feed != nil {
		feed.Start(bridges)
	}

	var tick <-chan time.Time
	if o.StatusEvery > 0 {
		t := time.NewTicker(o.StatusEvery)
		defer t.Stop()
		tick = t.C
	}
	all := make([]error, len(bridges)) // in the order of the bridges
	running := len(bridges)
	why := "a bridge stopped"
wait:
	for {
		select {
		case <-ctx.Done():
			why = context.Cause(ctx).Error()
			break wait
		case r := <-results: // a bridge stopped by itself: stop them all
			all[r.i], running = r.err, running-1
			break wait
		case <-tick:
			mon.status(log, bridges)
		}
	}
	deadline := time.Now().Add(o.DrainTimeout)
	if feed != nil {
		feed.Quiesce(bridges, deadline)
	}
	log.Info("stopping: closing the Genesys clients and publishing what is held", "why", why, "drain_timeout", o.DrainTimeout)
	stop()
	for ; running > 0; running-- {
		r := <-results
		all[r.i] = r.err
	}
	for _, b := range bridges {
		summary(log, b.Stats())
	}
	// The monitor's connection may be coming back, as the bridges' did, after
	// NATS restarted: wait for it with what is left of the drain timeout.
	// Bridges that gave up on NATS used all of it, so nothing waits then.
	if !mon.waitConnected(deadline) {
		log.Warn("stream not read: not connected to NATS", "stream", o.Stream, "nats", bridge.RedactURLs(cfgs[0].NATSURL))
		if feed != nil {
			log.Warn("stream not verified: not connected to NATS")
		}
		return errors.Join(all...)
	}
	if ev, rec, err := mon.counts(); err == nil {
		log.Info("stream holds", "stream", o.Stream, "events", ev, "records", rec)
	} else {
		log.Warn("stream not read", "stream", o.Stream, "err", err)
	}
	if feed != nil {
		vctx, cancel := context.WithTimeout(context.Background(), verifyTimeout)
		defer cancel()
		if err := feed.Verify(vctx, mon.nc, o.Stream, log); err != nil {
			all = append(all, fmt.Errorf("verify: %w", err))
		}
	}
	return errors.Join(all...)
}

// summary logs the closing record of a bridge.
func summary(log *slog.Logger, st bridge.Stats) {
	log.Info("summary", "replica", st.Replica, "received", st.Received, "published", st.Published,
		"duplicates_rejected", st.Duplicates, "records", st.Records, "dropped", st.Dropped, "client_dropped", st.ClientDropped,
		"refused", st.Refused, "retries", st.Retries, "unpublished", st.Unpublished, "drained_in", st.DrainDuration.Round(time.Millisecond))
}

// monitor reads the stream's counts on a connection of its own.
type monitor struct {
	nc     *nats.Conn
	up     chan struct{} // signalled when nc connects or reconnects
	js     jetstream.JetStream
	stream string
	read   bool // last and lastAt are from a read of the stream
	last   uint64
	lastAt time.Time
}

func newMonitor(url, stream string, opts []nats.Option) (*monitor, error) {
	up := make(chan struct{}, 1)
	signal := func(*nats.Conn) {
		select {
		case up <- struct{}{}:
		default:
		}
	}
	opts = append([]nats.Option{nats.Name("gcnotify-bridge monitor"), nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond),
		nats.ConnectHandler(signal), nats.ReconnectHandler(signal)}, opts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &monitor{nc: nc, up: up, js: js, stream: stream}, nil
}

// waitConnected waits until the monitor is connected or deadline passes,
// and reports whether it is connected.
func (m *monitor) waitConnected(deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for !m.nc.IsConnected() {
		select {
		case <-m.up:
		case <-t.C:
			return m.nc.IsConnected()
		}
	}
	return true
}

func (m *monitor) close() { m.nc.Close() }

// counts returns the notifications and lifecycle records in the stream.
func (m *monitor) counts() (events, records uint64, err error) {
	ev, rec, _, err := m.info()
	return ev, rec, err
}

func (m *monitor) info() (events, records, bytes uint64, err error) {
	if !m.nc.IsConnected() {
		return 0, 0, 0, errors.New("not connected to NATS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s, err := m.js.Stream(ctx, m.stream)
	if err != nil {
		return 0, 0, 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(bridge.LifecyclePrefix+".>"))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, k := range info.State.Subjects {
		records += k
	}
	return info.State.Msgs - records, records, info.State.Bytes, nil
}

// status logs the stream's counts, with the rate of events stored since
// the previous status once there is one, and each bridge's state.
func (m *monitor) status(log *slog.Logger, bridges []*bridge.Bridge) {
	var dups int64
	for _, br := range bridges {
		dups += br.Stats().Duplicates
	}
	if ev, rec, bytes, err := m.info(); err != nil {
		log.Warn("stream unavailable", "stream", m.stream, "err", err)
	} else {
		now := time.Now()
		attrs := []any{"stream", m.stream, "events", ev, "records", rec, "bytes", bytes, "duplicates_rejected", dups}
		if m.read { // the events stored before the first read are not a rate
			attrs = append(attrs, "events_per_s", int64(float64(ev-min(m.last, ev))/now.Sub(m.lastAt).Seconds()))
		}
		m.read, m.last, m.lastAt = true, ev, now
		log.Info("stream", attrs...)
	}
	for _, br := range bridges {
		st := br.Stats()
		log.Info("replica", "replica", st.Replica, "genesys", string(st.Genesys), "nats_connected", st.NATSConnected,
			"held", st.Held, "dropped", st.Dropped+st.ClientDropped)
	}
}
