// Package demo is the command gcnotify-bridge-demo: the whole pipeline on
// one machine, without Genesys credentials and without a NATS server of
// your own. Bridges run against fake Genesys servers (package notifytest)
// fed the same synthetic events, into an embedded nats-server with
// JetStream in a temporary directory unless -nats names one; -bench
// measures the throughput of one bridge. It links the test bed, which the
// production command gcnotify-bridge does not.
package demo

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/cli"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/gcnotify/notify/notifytest"
	"github.com/nats-io/nats.go"
)

// options are the flags of the demo besides the bridge's.
type options struct {
	cli.Options
	bench                      int
	backlog                    bool
	replicas, rate             int
	dropEvery, natsRestartEach time.Duration
}

const usageText = `Runs the Genesys-to-JetStream bridge on this machine without Genesys: two
replicas in this process, each with a fake Genesys server of its own fed the
same synthetic events, one socket dropped now and then (never two at once), and
an embedded nats-server with JetStream in a temporary directory unless -nats
(or NATS_URL) names a server. It logs the stream's counts, and at the end a
summary per replica and what the stream holds of the events. SIGTERM, SIGINT or
SIGHUP stops it as -for does; the temporary store is removed in every case.
-bench N measures the throughput of one bridge instead.`

// Main runs the command gcnotify-bridge-demo, as cli.Main runs
// gcnotify-bridge.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("gcnotify-bridge-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gcnotify-bridge-demo [flags]\n\n%s\n\nflags:\n", usageText)
		fs.PrintDefaults()
	}
	o.Register(fs, getenv)
	fs.IntVar(&o.bench, "bench", 0, "measure: push this many events through one bridge into an embedded file-backed stream, and exit")
	fs.BoolVar(&o.backlog, "bench-backlog", false, "with -bench: measure the drain of a backlog buffered while NATS was down")
	fs.IntVar(&o.replicas, "demo-replicas", 2, "replicas in this process, each with its own fake Genesys server")
	fs.IntVar(&o.rate, "demo-rate", 500, "synthetic events per second")
	fs.DurationVar(&o.dropEvery, "drop-every", 3*time.Second, "drop one replica's Genesys socket this often (never two at once); 0 never")
	fs.DurationVar(&o.natsRestartEach, "nats-restart-every", 0, "with the embedded nats-server: stop it for a second this often, to watch the bridges buffer; 0 never")
	if err := o.Parse(fs, args); err != nil {
		return err
	}
	if len(o.Topics) > 0 {
		return fmt.Errorf("the demo subscribes its own topics; %q is for gcnotify-bridge", o.Topics[0])
	}
	if o.replicas < 1 || o.replicas > 10 {
		return fmt.Errorf("-demo-replicas must be 1 to 10, got %d", o.replicas)
	}
	ctx, cancel, log := o.Setup(ctx, stdout)
	defer cancel()
	if o.bench > 0 {
		return runBench(ctx, &o, log)
	}

	var embedded *testbed.NATS
	if o.NATSURL == "" {
		dir, err := testbed.MkdirTemp("gcnotify-nats-")
		if err != nil {
			return err
		}
		defer testbed.RemoveTemp(dir)
		n, err := testbed.StartNATS(dir)
		if err != nil {
			return err
		}
		running.Store(n)
		defer running.Store(nil)
		defer n.Stop()
		o.NATSURL, embedded = n.URL(), n
		log.Info("embedded nats-server started; its store is removed at exit", "nats", o.NATSURL, "store", dir)
	}
	return run(ctx, &o, embedded, log)
}

// running is the embedded nats-server of the demo running now, for Abort.
var running atomic.Pointer[testbed.NATS]

// Abort removes the demo's temporary stores at once, for a command told to
// stop at once: it gives the embedded nats-server a second to shut down,
// so that it writes no more files in its store, and removes the store
// whether or not it has stopped.
func Abort() {
	if n := running.Load(); n != nil {
		done := make(chan struct{})
		go func() {
			n.Stop()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
	testbed.RemoveTemps()
}

// run runs o.replicas bridges in this process, each against a fake Genesys
// server of its own, all fed the same synthetic events. embedded is the
// embedded nats-server, nil if NATS is external.
func run(ctx context.Context, o *options, embedded *testbed.NATS, log *slog.Logger) error {
	feed := testbed.NewFeed(o.replicas, notifytest.Config{HeartbeatInterval: time.Second})
	defer feed.Close()
	var cfgs []bridge.Config
	for i := range o.replicas {
		var clientLog *slog.Logger
		if o.Verbose {
			clientLog = log.With("component", "notify")
		}
		c, release, err := testbed.NewClient(feed.Server(i), clientLog, testbed.Topics()...)
		if err != nil {
			for _, cfg := range cfgs {
				cfg.Client.Close()
			}
			return err
		}
		defer release()
		cfg := o.BridgeConfig(log)
		cfg.Client, cfg.NATSURL, cfg.Replica = c, o.NATSURL, fmt.Sprintf("%s-%d", o.Replica, i+1)
		cfgs = append(cfgs, cfg)
	}
	log.Info("no Genesys credentials: each replica has a fake Genesys server of its own", "replicas", o.replicas,
		"events_per_s", o.rate, "drop_every", o.dropEvery, "stream", o.Stream, "nats", o.NATSURL)
	d := &demo{feed: feed, synth: testbed.NewSynth(), ledger: testbed.NewLedger(o.replicas), rate: o.rate,
		dropEvery: o.dropEvery, log: log, stop: make(chan struct{})}
	if embedded != nil {
		d.nats, d.natsEvery = embedded, o.natsRestartEach
	}
	return cli.Run(ctx, &o.Options, cfgs, d, log)
}

// demo feeds synthetic events to the bridges and drops one replica's
// socket now and then, never while another replica is disconnected. It is
// the cli.Feeder of the demo.
type demo struct {
	feed      *testbed.Feed
	synth     *testbed.Synth
	ledger    *testbed.Ledger
	rate      int
	dropEvery time.Duration
	log       *slog.Logger

	nats      *testbed.NATS // nil: not restarted
	natsEvery time.Duration

	bridges  []*bridge.Bridge
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
	drops    atomic.Int64
}

// Start starts publishing, dropping sockets and restarting NATS.
func (d *demo) Start(bridges []*bridge.Bridge) {
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
		d.log.Info("nats-server stopped", "for", outage)
		select {
		case <-d.stop:
			return
		case <-time.After(outage):
		}
		if err := d.nats.Start(); err != nil {
			d.log.Error("nats-server did not start again", "err", err)
			return
		}
		d.log.Info("nats-server started again on the same port and store")
	}
}

// publish waits until every replica is subscribed, then publishes d.rate
// events per second until stopped, recording which replicas each reached.
func (d *demo) publish() {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !d.feed.SubscribedAll(testbed.Topics()) {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
	}
	d.log.Info("every replica is subscribed: publishing")
	acc := 0.0
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		for acc += float64(d.rate) / 100; acc >= 1; acc-- {
			topic, body, seq := d.synth.Next()
			_, delivered := d.feed.Publish(topic, body)
			d.ledger.Add(seq, delivered)
		}
	}
}

// dropLoop drops the socket of the replicas in turn, each only while all
// the others are connected and subscribed.
func (d *demo) dropLoop() {
	t := time.NewTicker(d.dropEvery)
	defer t.Stop()
	for next := 0; ; {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if !d.feed.DropCovered(next, testbed.Topics()) {
			continue
		}
		d.drops.Add(1)
		d.log.Info("dropped a Genesys socket", "replica", d.bridges[next].Stats().Replica)
		next = (next + 1) % d.feed.Len()
	}
}

// Quiesce stops publishing, dropping and restarting, and waits until
// every replica has read every event written to its socket.
func (d *demo) Quiesce(bridges []*bridge.Bridge, deadline time.Time) {
	d.stopOnce.Do(func() { close(d.stop) })
	d.wg.Wait()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		done := true
		for i, b := range bridges {
			if st := b.Stats(); st.Received+st.ClientDropped < d.ledger.Reached(i) {
				done = false
			}
		}
		if done {
			return
		}
		<-t.C
	}
	d.log.Warn("the replicas did not read every event sent to them within -drain-timeout")
}

// Verify reads the stream back and logs what it holds of the demo's
// events: each one that reached a replica must be stored exactly once.
func (d *demo) Verify(ctx context.Context, nc *nats.Conn, stream string, log *slog.Logger) error {
	c, err := testbed.ReadStream(ctx, nc, stream)
	if err != nil {
		return err
	}
	v := d.ledger.Judge(c.Seqs(d.synth.Run()), d.synth.Last())
	level := slog.LevelInfo
	if !v.OK() {
		level = slog.LevelError
	}
	log.Log(ctx, level, "verified the stream", "socket_drops", d.drops.Load(), "verdict", v)
	if !v.OK() {
		return fmt.Errorf("the stream does not hold every event that reached a replica exactly once: %v", v)
	}
	return nil
}

// runBench runs the -bench mode.
func runBench(ctx context.Context, o *options, log *slog.Logger) error {
	cfg := o.BridgeConfig(log)
	mode := "live flow"
	if o.backlog {
		mode = "backlog drain"
	}
	log.Info("bench: one bridge, embedded nats-server with file storage", "events", o.bench, "mode", mode)
	res, err := testbed.Bench(ctx, testbed.BenchConfig{Events: o.bench, Bridge: cfg, Backlog: o.backlog, Logger: log})
	if err != nil {
		return err
	}
	log.Info("bench done", "result", res)
	if res.Duplicate != 0 || res.Lost != 0 || res.Unreached != 0 {
		return fmt.Errorf("bench stored %d duplicates, lost %d events and %d reached no socket", res.Duplicate, res.Lost, res.Unreached)
	}
	return nil
}
