package bridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/nats-io/nats.go/jetstream"
)

func TestSubject(t *testing.T) {
	for topic, want := range map[string]string{
		"v2.users.8f0e.presence":             "gc.v2.users.8f0e.presence",
		"v2.routing.queues.q1.conversations": "gc.v2.routing.queues.q1.conversations",
		"v2.odd topic.*.>":                   "gc.v2.odd_topic._._",
		"v2..x.":                             "gc.v2._.x._",
	} {
		if got := Subject(topic); got != want {
			t.Errorf("Subject(%q) = %q, want %q", topic, got, want)
		}
	}
	if got := LifecycleSubject("host.example.com", KindConnected); got != "gc._bridge.host-example-com.connected" {
		t.Errorf("LifecycleSubject = %q", got)
	}
}

func TestMsgID(t *testing.T) {
	n := notify.Notification{Topic: "v2.users.1.presence", CorrelationID: "c1", Body: json.RawMessage(`{"a":1}`)}
	id, shared := MsgID(n)
	if again, _ := MsgID(n); len(id) != 64 || !shared || again != id {
		t.Fatalf("MsgID = %q, %v: not a stable SHA-256 in hex", id, shared)
	}
	n.Received = time.Now() // not part of the identity
	if got, _ := MsgID(n); got != id {
		t.Error("MsgID depends on the time of reception")
	}
	differ := []notify.Notification{
		{Topic: "v2.users.2.presence", CorrelationID: "c1", Body: n.Body},
		{Topic: n.Topic, CorrelationID: "c2", Body: n.Body},
		{Topic: n.Topic, CorrelationID: "c1", Body: json.RawMessage(`{"a":2}`)},
		// The separators keep the fields apart.
		{Topic: n.Topic + "c", CorrelationID: "1", Body: n.Body},
	}
	for _, d := range differ {
		if got, _ := MsgID(d); got == id {
			t.Errorf("%+v has the id of %+v", d, n)
		}
	}
	m := notificationMsg(n, "r1", func() string { t.Error("a delivery id for a notification with a CorrelationId"); return "" })
	if m.Subject != "gc.v2.users.1.presence" || m.Header.Get(jetstream.MsgIDHeader) != id ||
		m.Header.Get(HeaderCorrelationID) != "c1" || m.Header.Get(HeaderReplica) != "r1" || string(m.Data) != `{"a":1}` {
		t.Errorf("message %+v", m)
	}
}

// Without a CorrelationId (token-frame) there is no id the replicas could
// share without merging distinct events with equal bodies: each delivery
// gets its own.
func TestMsgIDWithoutCorrelationID(t *testing.T) {
	n := notify.Notification{Topic: "/users/1/presence", Body: json.RawMessage(`{"a":1}`)}
	if id, shared := MsgID(n); id != "" || shared {
		t.Fatalf("MsgID = %q, %v; want no shared id", id, shared)
	}
	ids := map[string]bool{}
	for seq := range uint64(3) {
		m := notificationMsg(n, "r.1", func() string { return DeliveryID("r.1", "run", seq+1) })
		ids[m.Header.Get(jetstream.MsgIDHeader)] = true
		if m.Header.Get(HeaderCorrelationID) != "" {
			t.Errorf("a correlation id header on %v", m.Header)
		}
	}
	if len(ids) != 3 || !ids["bridge.r-1.run.n1"] {
		t.Fatalf("ids of three deliveries of one body: %v", ids)
	}
}

func TestRecords(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, ok := recordOf(notify.Connected{ChannelID: "ch", Reconnect: true, Gap: true, Downtime: 1500 * time.Millisecond}, "a", now)
	if !ok {
		t.Fatal("no record for Connected")
	}
	want := `{"kind":"connected","replica":"a","time":"2026-01-02T03:04:05Z","channel":"ch","reconnect":true,"gap":true,"downtimeMs":1500}`
	if got := string(r.encode()); got != want {
		t.Errorf("record %s, want %s", got, want)
	}
	if _, ok := recordOf(notify.Notification{}, "a", now); ok {
		t.Error("a notification has a record")
	}
	m1 := recordMsg(r, "run", 1)
	m2 := recordMsg(r, "run", 2)
	if m1.Subject != "gc._bridge.a.connected" || m1.Header.Get(jetstream.MsgIDHeader) == m2.Header.Get(jetstream.MsgIDHeader) {
		t.Errorf("record messages %v %v", m1.Header, m2.Header)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := notify.New(staticTokens{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg, err := Config{Client: c, NATSURL: "nats://127.0.0.1:4222", Replica: "r.1"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Replica != "r-1" || cfg.MaxInFlight != 256 || cfg.BufferSize != 100_000 ||
		cfg.Stream.Name != "GENESYS" || cfg.Stream.Duplicates != 2*time.Minute || cfg.Stream.Replicas != 1 {
		t.Errorf("defaults: %+v", cfg)
	}
	bad := []Config{
		{Client: c, Replica: "r"},
		{Client: c, NATSURL: "nats://x"},
		{Client: c, NATSURL: "nats://x", Replica: "r", Stream: StreamConfig{Duplicates: time.Minute}},
		{Client: c, NATSURL: "nats://x", Replica: "r", Stream: StreamConfig{Name: "a.b"}},
		{Client: c, NATSURL: "nats://x", Replica: "r", Stream: StreamConfig{MaxAge: time.Minute}},
		{Client: c, NATSURL: "nats://x", Replica: "r", MaxInFlight: -1},
	}
	for _, b := range bad {
		if _, err := b.withDefaults(); err == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
