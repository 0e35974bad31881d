package bridge_test

import (
	"testing"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/gcnotify/notify/notifytest"
)

// Two replicas, one NATS server, events published all along: abrupt
// drops of one replica at a time, a replica restart and a NATS restart
// lose nothing and store nothing twice.
//
// Each replica has a fake Genesys server of its own, so that DropAll hits
// one replica only, and testbed.Feed delivers every event to both with the
// same CorrelationId and body (Publish on the first server, the identical
// frame with SendRaw on the second), as Genesys delivers one event to
// every channel subscribed to its topic. A replica is dropped only while
// the other one is connected and subscribed, so every event reaches at
// least one replica whose socket stays up.
func TestTwoReplicas(t *testing.T) {
	start := time.Now()
	n := startNATS(t)
	feed := testbed.NewFeed(2, notifytest.Config{HeartbeatInterval: 200 * time.Millisecond})
	defer feed.Close()
	names := [2]string{"a", "b"}
	var reps [2]*testbed.Replica
	for i := range reps {
		reps[i] = startReplica(t, feed, i, config(n, names[i]))
	}
	for i, r := range reps {
		waitFor(t, "replica "+names[i]+" to connect", func() bool { return connected(feed, i, r, 1) })
	}
	pub := startPublisher(feed)

	// Drops, one replica at a time, five rounds.
	for range 5 {
		for i := range reps {
			other := reps[1-i]
			otherDown := other.Stats().Disconnects
			pub.waitMore(t, 100)
			connects := reps[i].Stats().Connects
			if !feed.DropCovered(i, testbed.Topics()) {
				t.Fatalf("replica %s is not subscribed: cannot drop %s", names[1-i], names[i])
			}
			pub.waitMore(t, 50) // delivered to the other replica only
			waitFor(t, "replica "+names[i]+" to reconnect", func() bool { return connected(feed, i, reps[i], connects+1) })
			if d := other.Stats().Disconnects; d != otherDown {
				t.Fatalf("replica %s lost its socket while %s was dropped", names[1-i], names[i])
			}
		}
	}

	// A replica restart: Close and a new bridge of the same name.
	pub.waitMore(t, 100)
	if err := reps[0].Stop(); err != nil {
		t.Fatalf("stopping replica a: %v", err)
	}
	if st := reps[0].Stats(); st.Unpublished != 0 || st.Held != 0 {
		t.Fatalf("replica a stopped with %d unpublished, %d held", st.Unpublished, st.Held)
	}
	pub.waitMore(t, 100) // replica b only
	reps[0] = startReplica(t, feed, 0, config(n, names[0]))
	waitFor(t, "the new replica a to connect", func() bool { return connected(feed, 0, reps[0], 1) })

	// A NATS restart on the same store and port: both replicas buffer.
	pub.waitMore(t, 100)
	stored := countEvents(t, n) // acknowledged, as far as the stream knows
	n.Stop()
	waitFor(t, "both replicas to buffer", func() bool {
		for _, r := range reps {
			if st := r.Stats(); st.NATSConnected || st.Held < 50 {
				return false
			}
		}
		return true
	})
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if after := countEvents(t, n); after < stored {
		t.Fatalf("the stream held %d events before NATS stopped and %d after it started", stored, after)
	}
	waitFor(t, "both replicas to drain", func() bool {
		for _, r := range reps {
			if st := r.Stats(); !st.NATSConnected || st.Held > 0 {
				return false
			}
		}
		return true
	})
	pub.waitMore(t, 100)
	bodies, missed := pub.finish()
	if len(missed) > 0 {
		// Not losses (no socket could read them), but the test drops a
		// replica only while the other is subscribed: some replica lost
		// its socket by itself.
		first := int64(0)
		for _, seq := range missed {
			if first == 0 || seq < first {
				first = seq
			}
		}
		t.Errorf("%d events reached no replica (first: seq %d): the test broke its own rule", len(missed), first)
	}

	// Wait until the stream has every event that reached a replica, so that
	// stopping the replicas closes no socket with an event still on its way.
	waitFor(t, "every event to be stored", func() bool { return countEvents(t, n) >= uint64(len(bodies)-len(missed)) })
	var dups int64
	for i, r := range reps {
		if err := r.Stop(); err != nil {
			t.Errorf("stopping replica %s: %v", names[i], err)
		}
		st := r.Stats()
		dups += st.Duplicates
		if st.Dropped != 0 || st.ClientDropped != 0 || st.Unpublished != 0 {
			t.Errorf("replica %s: %+v", names[i], st)
		}
		t.Logf("replica %s: received %d, published %d, duplicates rejected %d, records %d, retries %d",
			names[i], st.Received, st.Published, st.Duplicates, st.Records, st.Retries)
	}

	c := readStream(t, n, bridge.DefaultStreamName)
	lost := 0
	for _, b := range bodies {
		switch k := c.Bodies[b]; {
		case k == 0 && missed[b] != 0:
			// reported above
		case k == 0:
			lost++
			t.Errorf("event not stored: %s", b)
		case k > 1:
			t.Errorf("event stored %d times: %s", k, b)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d events are not in the stream", lost, len(bodies))
	}
	if len(c.Bodies) != len(bodies)-len(missed) || c.Duplicates() != 0 {
		t.Errorf("stream holds %d distinct events and %d duplicates; %d were published", len(c.Bodies), c.Duplicates(), len(bodies))
	}
	if c.Records[bridge.KindConnected] < 2+10+1 || c.Records[bridge.KindDisconnected] < 10 {
		t.Errorf("lifecycle records: %v", c.Records)
	}
	t.Logf("%d events published, %d stored, %d duplicates stored, %d lost, %d duplicates rejected, records %v, in %v",
		len(bodies), len(c.Bodies), c.Duplicates(), lost, dups, c.Records, time.Since(start).Round(time.Millisecond))
}
