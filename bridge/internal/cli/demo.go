package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/gcnotify/notify/notifytest"
)

// runDemo runs -demo-replicas bridges in this process, each against a
// fake Genesys server of its own, all fed the same synthetic events.
// embedded is the embedded nats-server, nil if NATS is external.
func runDemo(ctx context.Context, o *options, embedded *testbed.NATS, natsURL string, stdout io.Writer, log *slog.Logger) error {
	if o.demoReplicas < 1 || o.demoReplicas > 10 {
		return fmt.Errorf("gcnotify-bridge: -demo-replicas must be 1 to 10, got %d", o.demoReplicas)
	}
	feed := testbed.NewFeed(o.demoReplicas, notifytest.Config{HeartbeatInterval: time.Second})
	defer feed.Close()
	var cfgs []bridge.Config
	for i := range o.demoReplicas {
		var clientLog *slog.Logger
		if o.verbose {
			clientLog = log.With("component", "notify")
		}
		c, release, err := testbed.NewClient(feed.Server(i), clientLog, testbed.Topics()...)
		if err != nil {
			return err
		}
		defer release()
		cfg := o.bridgeConfig(log)
		cfg.Client, cfg.NATSURL, cfg.Replica = c, natsURL, fmt.Sprintf("%s-%d", o.replica, i+1)
		cfgs = append(cfgs, cfg)
	}
	fmt.Fprintf(stdout, "demo: no Genesys credentials: %d replicas, each with its own fake Genesys server, %d events/s, one socket dropped every %v; stream %s on %s\n",
		o.demoReplicas, o.demoRate, o.dropEvery, o.stream, natsURL)
	d := &demo{feed: feed, synth: testbed.NewSynth(), rate: o.demoRate, dropEvery: o.dropEvery,
		out: stdout, stop: make(chan struct{})}
	if embedded != nil {
		d.nats, d.natsEvery = embedded, o.natsRestartEvery
	}
	return runBridges(ctx, o, natsURL, cfgs, d, stdout)
}

// demo publishes synthetic events on a feed and drops one replica's
// socket now and then, never while another replica is disconnected.
type demo struct {
	feed      *testbed.Feed
	synth     *testbed.Synth
	rate      int
	dropEvery time.Duration
	out       io.Writer

	nats      *testbed.NATS // nil: not restarted
	natsEvery time.Duration

	bridges   []*bridge.Bridge
	stop      chan struct{}
	wg        sync.WaitGroup
	delivered atomic.Int64 // events written to at least one socket
	drops     atomic.Int64
}

func (d *demo) start(bridges []*bridge.Bridge) {
	d.bridges = bridges
	d.wg.Go(d.publish)
	if d.dropEvery > 0 {
		d.wg.Go(d.dropLoop)
	}
	if d.nats != nil && d.natsEvery > 0 {
		d.wg.Go(d.natsLoop)
	}
}

// natsLoop stops the embedded nats-server for a second every d.natsEvery
// and starts it again on the same port and store.
func (d *demo) natsLoop() {
	t := time.NewTicker(d.natsEvery)
	defer t.Stop()
	defer d.nats.Start() // running again whatever happens
	outage := min(time.Second, d.natsEvery/2)
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		d.nats.Stop()
		fmt.Fprintf(d.out, "demo: nats-server stopped for %v\n", outage)
		select {
		case <-d.stop:
			return
		case <-time.After(outage):
		}
		if err := d.nats.Start(); err != nil {
			fmt.Fprintf(d.out, "demo: nats-server did not start again: %v\n", err)
			return
		}
		fmt.Fprintln(d.out, "demo: nats-server started again on the same port and store")
	}
}

// publish publishes d.rate events per second until stopped.
func (d *demo) publish() {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	acc := 0.0
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		for acc += float64(d.rate) / 100; acc >= 1; acc-- {
			topic, body, _ := d.synth.Next()
			_, delivered := d.feed.Publish(topic, body)
			for _, n := range delivered {
				if n > 0 {
					d.delivered.Add(1)
					break
				}
			}
		}
	}
}

// dropLoop drops the socket of the replicas in turn, each only while all
// the others are connected.
func (d *demo) dropLoop() {
	t := time.NewTicker(d.dropEvery)
	defer t.Stop()
	for next := 0; ; {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if !d.othersConnected(next) {
			continue
		}
		d.feed.Drop(next)
		d.drops.Add(1)
		fmt.Fprintf(d.out, "demo: dropped the Genesys socket of replica %s\n", d.bridges[next].Stats().Replica)
		next = (next + 1) % d.feed.Len()
	}
}

func (d *demo) othersConnected(i int) bool {
	for j, b := range d.bridges {
		if j == i {
			continue
		}
		if b.Stats().Genesys != notify.StateConnected {
			return false
		}
		for _, topic := range testbed.Topics() {
			if !d.feed.Subscribed(j, topic) {
				return false
			}
		}
	}
	return true
}

// finish stops publishing and waits, for a few seconds at most, until the
// stream has every event that reached a socket.
func (d *demo) finish(m *monitor) {
	close(d.stop)
	d.wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ev, _, err := m.counts(); err == nil && ev >= uint64(d.delivered.Load()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verify reads the stream back and prints how many of the demo's events it
// holds once, twice or not at all.
func (d *demo) verify(m *monitor, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := testbed.ReadStream(ctx, m.nc, m.stream)
	if err != nil {
		return err
	}
	stored, dups, lost := testbed.Tally(c.Seqs(d.synth.Run()), d.synth.Last())
	fmt.Fprintf(out, "verify: %d events published, %d socket drops, %d events stored, duplicates stored %d, lost %d (%d reached no replica)\n",
		d.synth.Last(), d.drops.Load(), stored, dups, lost, d.synth.Last()-d.delivered.Load())
	return nil
}
