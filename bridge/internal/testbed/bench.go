package testbed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/notifytest"
	"github.com/nats-io/nats.go"
)

// BenchConfig configures Bench.
type BenchConfig struct {
	Events     int           // events to push through, at least 1
	Publishers int           // goroutines publishing on the fake server; default 4
	Bridge     bridge.Config // NATSURL, Client and Replica are set by Bench
	Logger     *slog.Logger  // default: none
	// Backlog measures the drain of a backlog instead of a live flow: the
	// events are read while NATS is stopped, and the clock runs from its
	// restart to the last acknowledgement.
	Backlog bool
}

// BenchResult is what Bench measured.
type BenchResult struct {
	Events    int
	Published time.Duration // to write every frame on the fake server's socket
	Elapsed   time.Duration // from the first frame to the last acknowledgement
	Stored    int           // distinct events in the stream
	Duplicate int           // events stored more than once, beyond the first copy
	Lost      int           // events written to the bridge's socket but not in the stream
	Unreached int           // events the fake server wrote to no socket (the bench waits for the subscription first: 0)
	Dropped   int64         // events dropped by the bridge (buffer full)
	ClientDrp int64         // events dropped by the notify client (bridge read too slowly)
}

// Rate returns the events per second through the bridge.
func (r BenchResult) Rate() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// LogValue is r as log attributes.
func (r BenchResult) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("events", r.Events), slog.Duration("elapsed", r.Elapsed.Round(time.Millisecond)),
		slog.Int64("events_per_s", int64(r.Rate())), slog.Duration("frames_written_in", r.Published.Round(time.Millisecond)),
		slog.Int("stored", r.Stored), slog.Int("duplicates", r.Duplicate), slog.Int("lost", r.Lost),
		slog.Int("unreached", r.Unreached), slog.Int64("dropped", r.Dropped), slog.Int64("client_dropped", r.ClientDrp))
}

// String returns the result as one line.
func (r BenchResult) String() string {
	return fmt.Sprintf("%d events in %v: %.0f events/s through the bridge (frames written in %v); stored %d, duplicates stored %d, lost %d, reached no socket %d, dropped %d by the bridge and %d by the client",
		r.Events, r.Elapsed.Round(time.Millisecond), r.Rate(), r.Published.Round(time.Millisecond), r.Stored, r.Duplicate, r.Lost, r.Unreached, r.Dropped, r.ClientDrp)
}

// Bench pushes cfg.Events synthetic events from a fake Genesys server
// through one bridge into a file-backed stream of an embedded nats-server
// in a temporary directory, and checks the stream afterwards. The
// bridge's buffer is made large enough to hold every event, so that a
// burst faster than the bridge is measured, not dropped.
func Bench(ctx context.Context, cfg BenchConfig) (BenchResult, error) {
	res := BenchResult{Events: cfg.Events}
	if cfg.Events < 1 {
		return res, errors.New("testbed: bench needs at least one event")
	}
	if cfg.Publishers < 1 {
		cfg.Publishers = 4
	}
	dir, err := MkdirTemp("gcnotify-bench-")
	if err != nil {
		return res, err
	}
	defer RemoveTemp(dir)
	n, err := StartNATS(dir)
	if err != nil {
		return res, err
	}
	defer n.Stop()
	feed := NewFeed(1, notifytest.Config{HeartbeatInterval: time.Second})
	defer feed.Close()

	bc := cfg.Bridge
	bc.BufferSize = max(bc.BufferSize, cfg.Events) // measure throughput, not overflow
	if cfg.Backlog {
		// Reconnect at once when NATS is back.
		bc.NATSOptions = append(slices.Clip(bc.NATSOptions), nats.ReconnectWait(20*time.Millisecond))
	}
	bc.NATSURL, bc.Replica, bc.Logger = n.URL(), "bench", cfg.Logger
	if bc.Stream.Name == "" {
		bc.Stream.Name = bridge.DefaultStreamName
	}
	r, err := StartReplica(feed.Server(0), bc, nil, Topics()...)
	if err != nil {
		return res, err
	}
	defer r.Stop()
	if err := waitUntil(ctx, func() bool { return r.Stats().Connects > 0 && feed.SubscribedAll(Topics()) }); err != nil {
		return res, fmt.Errorf("testbed: bench: the bridge did not connect: %w", err)
	}

	if cfg.Backlog {
		n.Stop()
	}
	synth := NewSynth()
	ledger := NewLedger(1)
	start := time.Now()
	var wg sync.WaitGroup
	for p := range cfg.Publishers {
		k := cfg.Events / cfg.Publishers
		if p < cfg.Events%cfg.Publishers {
			k++
		}
		wg.Go(func() {
			for range k {
				topic, body, seq := synth.Next()
				_, delivered := feed.Publish(topic, body)
				ledger.Add(seq, delivered)
			}
		})
	}
	wg.Wait()
	res.Published = time.Since(start)
	want := ledger.Reached(0) // every event the server wrote to the socket
	if cfg.Backlog {
		if err := waitUntil(ctx, func() bool { st := r.Stats(); return st.Received+st.ClientDropped >= want }); err != nil {
			return res, fmt.Errorf("testbed: bench: the bridge did not read the events: %w", err)
		}
		start = time.Now()
		if err := n.Start(); err != nil {
			return res, err
		}
	}
	if err := waitUntil(ctx, func() bool {
		st := r.Stats()
		return st.Published+st.Duplicates+st.Dropped+st.ClientDropped >= want
	}); err != nil {
		return res, fmt.Errorf("testbed: bench: %+v: %w", r.Stats(), err)
	}
	res.Elapsed = time.Since(start)
	if err := r.Stop(); err != nil {
		return res, err
	}
	st := r.Stats()
	res.Dropped, res.ClientDrp = st.Dropped, st.ClientDropped

	nc, err := nats.Connect(n.URL())
	if err != nil {
		return res, err
	}
	defer nc.Close()
	c, err := ReadStream(ctx, nc, bc.Stream.Name)
	if err != nil {
		return res, err
	}
	v := ledger.Judge(c.Seqs(synth.Run()), synth.Last())
	res.Stored, res.Duplicate, res.Lost, res.Unreached = v.Stored, v.Duplicate, v.Lost+v.Phantom, v.Unreached
	return res, nil
}

// waitUntil polls cond every few milliseconds until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
