package bridge_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/gcnotify/notify/notifytest"
)

// Token-frame notifications carry no CorrelationId, so nothing tells two
// events with the same topic and body apart from two copies of one. Such
// events are distinct (a presence that went Available, Busy, Available
// again): both are stored, however close together, instead of the stream
// keeping the first as a duplicate of the second.
func TestTokenFrameEqualBodiesBothArrive(t *testing.T) {
	n := startNATS(t)
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	const topic = "/users/1/presence"
	c, release, err := testbed.NewTokenFrameClient(srv, nil, topic)
	if err != nil {
		t.Fatal(err)
	}
	r, err := testbed.StartBridge(c, release, config(n, "tf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	waitFor(t, "the token-frame socket to be subscribed", func() bool {
		conns := srv.TokenFrameConnections()
		return len(conns) == 1 && slices.Contains(conns[0].Topics, topic)
	})

	body := json.RawMessage(`{"presence":"Available"}`)
	for i := range 2 {
		if _, delivered := srv.Publish(topic, body); delivered != 1 {
			t.Fatalf("event %d reached %d sockets", i+1, delivered)
		}
	}
	waitFor(t, "both events to be acknowledged", func() bool { st := r.Stats(); return st.Published+st.Duplicates == 2 })
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Published != 2 || st.Duplicates != 0 {
		t.Fatalf("published %d, duplicates %d; want 2 and 0", st.Published, st.Duplicates)
	}
	contents := readStream(t, n, bridge.DefaultStreamName)
	if k := contents.Bodies[string(body)]; k != 2 {
		t.Fatalf("the stream holds %d copies of the body, want 2 (one per event)", k)
	}
}
