package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/gcnotify/notify/notifytest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publishN publishes n synthetic events on feed, whose replicas are
// connected and subscribed, and returns their bodies. It fails the test if
// an event reached no socket: the tests that use it wait for the
// subscription first, and each replica must get every event.
func publishN(t testing.TB, feed *testbed.Feed, synth *testbed.Synth, n int) []string {
	t.Helper()
	var out []string
	for range n {
		topic, body, seq := synth.Next()
		_, delivered := feed.Publish(topic, body)
		for i, d := range delivered {
			if d == 0 {
				t.Fatalf("event %d reached no socket of replica %d, which was subscribed", seq, i)
			}
		}
		out = append(out, string(body))
	}
	return out
}

// NATS unreachable from the start: the bridge reads and holds events,
// creates the stream when NATS comes, and publishes them in order.
func TestBuffersUntilNATSIsReachable(t *testing.T) {
	n := startNATS(t)
	n.Stop()
	feed := testbed.NewFeed(1, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	r := startReplica(t, feed, 0, config(n, "solo"))
	waitFor(t, "the replica to connect to Genesys", func() bool { return connected(feed, 0, r, 1) })

	bodies := publishN(t, feed, testbed.NewSynth(), 200)
	waitFor(t, "200 events held", func() bool { return r.Stats().Held == 200 })
	if st := r.Stats(); st.NATSConnected || st.Published != 0 {
		t.Fatalf("stats while NATS is down: %+v", st)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the buffer to drain", func() bool { st := r.Stats(); return st.Held == 0 && st.Published == 200 })
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	got := readOrder(t, n)
	if len(got) != len(bodies) {
		t.Fatalf("stream holds %d events, want %d", len(got), len(bodies))
	}
	for i := range bodies {
		if got[i] != bodies[i] {
			t.Fatalf("event %d out of order: %s, want %s", i, got[i], bodies[i])
		}
	}
}

// A full buffer drops the newest notifications, counts them and puts one
// dropped record in their place; the Genesys side is never blocked. The
// bridge holds BufferSize notifications in its buffer and, besides, up to
// MaxInFlight in its publishing window: how many of the 50 the window took
// before the buffer filled up depends on when the publisher last tried
// NATS, so the test checks the bounds and that every event is accounted
// for, once.
func TestFullBufferDropsAndReports(t *testing.T) {
	n := startNATS(t)
	n.Stop()
	feed := testbed.NewFeed(1, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	cfg := config(n, "small")
	cfg.BufferSize = 20
	cfg.MaxInFlight = 4
	r := startReplica(t, feed, 0, cfg)
	waitFor(t, "the replica to connect to Genesys", func() bool { return connected(feed, 0, r, 1) })

	publishN(t, feed, testbed.NewSynth(), 50)
	waitFor(t, "50 events read and held or dropped", func() bool {
		st := r.Stats()
		return st.Received == 50 && int64(st.Held)+st.Dropped == 50
	})
	st := r.Stats()
	if st.Held < cfg.BufferSize || st.Held > cfg.BufferSize+cfg.MaxInFlight || st.ClientDropped != 0 {
		t.Fatalf("held %d, dropped %d, client dropped %d; want %d to %d held, the rest dropped, none by the client",
			st.Held, st.Dropped, st.ClientDropped, cfg.BufferSize, cfg.BufferSize+cfg.MaxInFlight)
	}
	held, dropped := int64(st.Held), st.Dropped
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the buffer to drain", func() bool { st := r.Stats(); return st.Held == 0 && st.Published == held })
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}

	nc, js := connectJS(t, n)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The drops are one record, or several if the window took notifications
	// while they were dropped and the buffer had room again in between.
	subject := bridge.LifecycleSubject("small", bridge.KindDropped)
	cons, err := js.OrderedConsumer(ctx, bridge.DefaultStreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var counted int64
	for counted < dropped {
		msg, err := cons.Next(jetstream.FetchMaxWait(timeout))
		if err != nil {
			t.Fatalf("dropped records counting %d of %d drops: %v", counted, dropped, err)
		}
		rec := decodeRecord(t, msg.Data())
		if rec.Count < 1 || rec.Source != bridge.SourceBridge || rec.Replica != "small" {
			t.Fatalf("dropped record %+v", rec)
		}
		counted += int64(rec.Count)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counted != dropped || info.NumPending != 0 {
		t.Fatalf("dropped records count %d drops, want %d; %d more records", counted, dropped, info.NumPending)
	}
}

// Shutting down while NATS is away gives up after the drain timeout and
// says how much was not published.
func TestDrainTimeout(t *testing.T) {
	n := startNATS(t)
	n.Stop()
	feed := testbed.NewFeed(1, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	cfg := config(n, "late")
	cfg.DrainTimeout = 100 * time.Millisecond
	r := startReplica(t, feed, 0, cfg)
	waitFor(t, "the replica to connect to Genesys", func() bool { return connected(feed, 0, r, 1) })
	publishN(t, feed, testbed.NewSynth(), 10)
	waitFor(t, "10 events held", func() bool { return r.Stats().Held == 10 })

	err := r.Stop()
	if !errors.Is(err, bridge.ErrDrainTimeout) {
		t.Fatalf("Stop: %v, want ErrDrainTimeout", err)
	}
	if st := r.Stats(); st.Unpublished != 10 {
		t.Fatalf("unpublished %d, want 10", st.Unpublished)
	}
}

// A stream that already exists is updated, and a duplicate window under
// two minutes is refused.
func TestStreamConfig(t *testing.T) {
	if _, err := bridge.New(bridge.Config{Client: nil}); err == nil {
		t.Fatal("New accepted a nil client")
	}
	n := startNATS(t)
	nc, js := connectJS(t, n)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "GENESYS", Subjects: []string{"gc.>"}, Storage: jetstream.FileStorage, MaxMsgs: 5}); err != nil {
		t.Fatal(err)
	}
	feed := testbed.NewFeed(1, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	cfg := config(n, "cfg")
	cfg.Stream.MaxAge = time.Hour
	cfg.Stream.Duplicates = time.Minute
	if _, err := testbed.StartReplica(feed.Server(0), cfg, nil); err == nil {
		t.Fatal("a duplicate window of 1m was accepted")
	}
	cfg.Stream.Duplicates = 3 * time.Minute
	r := startReplica(t, feed, 0, cfg)
	waitFor(t, "the replica to connect to Genesys", func() bool { return connected(feed, 0, r, 1) })
	publishN(t, feed, testbed.NewSynth(), 1)
	waitFor(t, "one event published", func() bool { return r.Stats().Published == 1 })
	s, err := js.Stream(ctx, "GENESYS")
	if err != nil {
		t.Fatal(err)
	}
	got := s.CachedInfo().Config
	if got.Duplicates != 3*time.Minute || got.MaxAge != time.Hour || got.MaxMsgs != -1 || got.Storage != jetstream.FileStorage {
		t.Fatalf("stream config: duplicates %v, max age %v, max msgs %d, storage %v", got.Duplicates, got.MaxAge, got.MaxMsgs, got.Storage)
	}
}

// connectJS connects to the embedded server n.
func connectJS(t testing.TB, n *testbed.NATS) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return nc, js
}

// readOrder returns the notification bodies of the stream in stream
// order.
func readOrder(t testing.TB, n *testbed.NATS) []string {
	t.Helper()
	nc, js := connectJS(t, n)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	events, _, err := testbed.Count(ctx, js, bridge.DefaultStreamName)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.OrderedConsumer(ctx, bridge.DefaultStreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"gc.v2.>"}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for uint64(len(out)) < events {
		batch, err := cons.Fetch(int(events)-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			out = append(out, string(m.Data()))
		}
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d events", len(out), events)
		}
	}
	return out
}

// An event larger than NATS accepts is logged, counted and skipped; the
// events around it are published.
func TestOversizedEventIsSkipped(t *testing.T) {
	n := startNATS(t)
	feed := testbed.NewFeed(1, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	r := startReplica(t, feed, 0, config(n, "big"))
	waitFor(t, "the replica to connect to Genesys", func() bool { return connected(feed, 0, r, 1) })

	synth := testbed.NewSynth()
	before := publishN(t, feed, synth, 1)
	topic := testbed.Topics()[0]
	// A frame just under the client's 1 MiB read limit: with its headers,
	// over the 1 MiB payload limit of the NATS server.
	envelope := len(testbed.Frame(topic, strings.Repeat("0", 36), []byte(`{"blob":""}`)))
	huge := append(append([]byte(`{"blob":"`), bytes.Repeat([]byte("x"), 1<<20-16-envelope)...), `"}`...)
	if _, delivered := feed.Publish(topic, huge); delivered[0] != 1 {
		t.Fatalf("the large event reached %d sockets", delivered[0])
	}
	after := publishN(t, feed, synth, 1)
	var st bridge.Stats
	defer func() {
		if t.Failed() {
			t.Logf("stats: %+v", r.Stats())
		}
	}()
	waitFor(t, "the events around it to be published", func() bool {
		st = r.Stats()
		return st.Published == 2 && st.Refused == 1 && st.Held == 0
	})
	t.Logf("%+v", st)
	if got := readOrder(t, n); len(got) != 2 || got[0] != before[0] || got[1] != after[0] {
		t.Fatalf("stream holds %d events", len(got))
	}
}

// A stream deleted under a running bridge is created again, and publishing
// goes on.
func TestStreamDeletedIsCreatedAgain(t *testing.T) {
	n := startNATS(t)
	feed := testbed.NewFeed(1, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	r := startReplica(t, feed, 0, config(n, "again"))
	waitFor(t, "the replica to connect to Genesys", func() bool { return connected(feed, 0, r, 1) })
	synth := testbed.NewSynth()
	publishN(t, feed, synth, 5)
	waitFor(t, "5 events published", func() bool { return r.Stats().Published == 5 })

	nc, js := connectJS(t, n)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := js.DeleteStream(ctx, bridge.DefaultStreamName); err != nil {
		t.Fatal(err)
	}
	later := publishN(t, feed, synth, 5)
	waitFor(t, "5 more events published", func() bool { st := r.Stats(); return st.Published == 10 && st.Held == 0 })
	if got := readOrder(t, n); strings.Join(got, "\n") != strings.Join(later, "\n") {
		t.Fatalf("the new stream holds %d events, want the 5 published after the deletion", len(got))
	}
}
