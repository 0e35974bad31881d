package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runBridges runs a bridge per configuration until ctx ends or one of
// them stops by itself, printing status lines, then stops them all (each
// drains its buffer) and prints a summary. d, if not nil, is the demo
// that feeds them.
func runBridges(ctx context.Context, o *options, natsURL string, cfgs []bridge.Config, d *demo, stdout io.Writer) error {
	var bridges []*bridge.Bridge
	for _, cfg := range cfgs {
		b, err := bridge.New(cfg)
		if err != nil {
			for _, c := range cfgs {
				c.Client.Close()
			}
			return err
		}
		bridges = append(bridges, b)
	}
	mon, err := newMonitor(natsURL, o.stream)
	if err != nil {
		for _, c := range cfgs {
			c.Client.Close()
		}
		return err
	}
	defer mon.close()

	bctx, stop := context.WithCancel(context.Background())
	defer stop()
	errs := make(chan error, len(bridges))
	for _, b := range bridges {
		go func() { errs <- b.Run(bctx) }()
	}
	if d != nil {
		d.start(bridges)
	}

	var tick <-chan time.Time
	if o.statusEvery > 0 {
		t := time.NewTicker(o.statusEvery)
		defer t.Stop()
		tick = t.C
	}
	var all []error
	running := len(bridges)
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-errs: // a bridge stopped by itself: stop them all
			all, running = append(all, err), running-1
			break wait
		case <-tick:
			fmt.Fprintln(stdout, mon.status(bridges))
		}
	}
	if d != nil {
		d.finish(mon)
	}
	fmt.Fprintln(stdout, "stopping: closing the Genesys clients and draining to JetStream")
	stop()
	for ; running > 0; running-- {
		all = append(all, <-errs)
	}
	for _, b := range bridges {
		fmt.Fprintln(stdout, summary(b.Stats()))
	}
	if ev, rec, err := mon.counts(); err == nil {
		fmt.Fprintf(stdout, "summary: stream %s holds %d events and %d lifecycle records\n", o.stream, ev, rec)
	}
	if d != nil {
		if err := d.verify(mon, stdout); err != nil {
			all = append(all, err)
		}
	}
	return errors.Join(all...)
}

// summary is the closing line of a bridge.
func summary(st bridge.Stats) string {
	return fmt.Sprintf("summary: replica %s: received %d, published %d, duplicates rejected %d, records %d, dropped %d, client dropped %d, refused %d, retries %d, unpublished %d, drained in %v",
		st.Replica, st.Received, st.Published, st.Duplicates, st.Records, st.Dropped, st.ClientDropped,
		st.Refused, st.Retries, st.Unpublished, st.DrainDuration.Round(time.Millisecond))
}

// monitor reads the stream's counts on a connection of its own.
type monitor struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream string
	last   uint64
	lastAt time.Time
}

func newMonitor(url, stream string) (*monitor, error) {
	nc, err := nats.Connect(url, nats.Name("gcnotify-bridge monitor"), nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &monitor{nc: nc, js: js, stream: stream, lastAt: time.Now()}, nil
}

func (m *monitor) close() { m.nc.Close() }

// counts returns the notifications and lifecycle records in the stream.
func (m *monitor) counts() (events, records uint64, err error) {
	ev, rec, _, err := m.info()
	return ev, rec, err
}

func (m *monitor) info() (events, records, bytes uint64, err error) {
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

// status returns a status line: the stream's counts and rate, and each
// bridge's state.
func (m *monitor) status(bridges []*bridge.Bridge) string {
	var b strings.Builder
	b.WriteString(time.Now().Format("15:04:05 "))
	var dups int64
	for _, br := range bridges {
		dups += br.Stats().Duplicates
	}
	if ev, rec, bytes, err := m.info(); err != nil {
		fmt.Fprintf(&b, "stream %s: unavailable (%v)", m.stream, err)
	} else {
		now := time.Now()
		rate := float64(ev-min(m.last, ev)) / now.Sub(m.lastAt).Seconds()
		m.last, m.lastAt = ev, now
		fmt.Fprintf(&b, "stream %s: %d events stored, %d records, %.1f MB, %.0f events/s; duplicates rejected %d",
			m.stream, ev, rec, float64(bytes)/1e6, rate, dups)
	}
	for _, br := range bridges {
		st := br.Stats()
		nats := "nats up"
		if !st.NATSConnected {
			nats = "NATS DOWN"
		}
		fmt.Fprintf(&b, " | %s: genesys %s, %s, held %d, dropped %d", st.Replica, st.Genesys, nats, st.Held, st.Dropped+st.ClientDropped)
	}
	return b.String()
}
