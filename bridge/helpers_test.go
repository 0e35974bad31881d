package bridge_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// timeout bounds every wait of the tests; it is only reached on failure.
const timeout = 20 * time.Second

// waitFor polls cond until it holds, and fails the test after timeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logger logs to stderr with -v, and nowhere otherwise.
func logger() *slog.Logger {
	var w io.Writer = io.Discard
	if testing.Verbose() {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// config returns a bridge configuration for the embedded server n.
func config(n *testbed.NATS, replica string) bridge.Config {
	return bridge.Config{
		NATSURL:      n.URL(),
		NATSOptions:  []nats.Option{nats.ReconnectWait(20 * time.Millisecond)},
		Replica:      replica,
		AckTimeout:   2 * time.Second,
		DrainTimeout: 15 * time.Second,
		Logger:       logger(),
	}
}

// startNATS starts an embedded server in a temporary directory, stopped
// when the test ends.
func startNATS(t testing.TB) *testbed.NATS {
	t.Helper()
	n, err := testbed.StartNATS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// startReplica starts a bridge on server i of feed; it is stopped when the
// test ends unless stopped before.
func startReplica(t testing.TB, feed *testbed.Feed, i int, cfg bridge.Config) *testbed.Replica {
	t.Helper()
	r, err := testbed.StartReplica(feed.Server(i), cfg, nil, testbed.Topics()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

// connected reports whether replica r is connected and every topic is
// subscribed on its server.
func connected(feed *testbed.Feed, i int, r *testbed.Replica, minConnects int64) bool {
	if r.Stats().Connects < minConnects {
		return false
	}
	for _, topic := range testbed.Topics() {
		if !feed.Subscribed(i, topic) {
			return false
		}
	}
	return true
}

// publisher publishes synthetic events on a feed continuously, about one
// per millisecond, and remembers their bodies.
type publisher struct {
	feed   *testbed.Feed
	synth  *testbed.Synth
	count  atomic.Int64
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	bodies []string
	missed map[string]int64 // body -> sequence number, of the events delivered to no socket at all
}

func startPublisher(feed *testbed.Feed) *publisher {
	p := &publisher{feed: feed, synth: testbed.NewSynth(), stop: make(chan struct{}), done: make(chan struct{}), missed: map[string]int64{}}
	go p.run()
	return p
}

func (p *publisher) run() {
	defer close(p.done)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		p.publish()
	}
}

// publish publishes one event and records whether it reached any socket:
// Feed.Publish counts exactly the sockets each frame was written to.
func (p *publisher) publish() {
	topic, body, seq := p.synth.Next()
	_, delivered := p.feed.Publish(topic, body)
	total := 0
	for _, d := range delivered {
		total += d
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, string(body))
	if total == 0 {
		p.missed[string(body)] = seq
	}
	p.mu.Unlock()
	p.count.Add(1)
}

// waitMore waits until n more events have been published.
func (p *publisher) waitMore(t testing.TB, n int64) {
	t.Helper()
	target := p.count.Load() + n
	waitFor(t, "events to be published", func() bool { return p.count.Load() >= target })
}

// finish stops publishing and returns the bodies published and those that
// reached no socket, with their sequence numbers.
func (p *publisher) finish() (bodies []string, missed map[string]int64) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bodies, p.missed
}

// readStream reads the whole stream of the embedded server n.
func readStream(t testing.TB, n *testbed.NATS, stream string) *testbed.Contents {
	t.Helper()
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := testbed.ReadStream(ctx, nc, stream)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// countEvents returns how many notifications the stream of the embedded
// server n holds.
func countEvents(t testing.TB, n *testbed.NATS) uint64 {
	t.Helper()
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	events, _, err := testbed.Count(ctx, js, bridge.DefaultStreamName)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// decodeRecord decodes a lifecycle record.
func decodeRecord(t testing.TB, data []byte) bridge.Record {
	t.Helper()
	var r bridge.Record
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}
