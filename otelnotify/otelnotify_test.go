package otelnotify_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
	"github.com/gcnotify/notify/otelnotify"
)

// waitTimeout bounds every wait for an event; it is a failure bound, not
// a delay.
const waitTimeout = 10 * time.Second

const (
	userA = "8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f"
	userB = "5c6b7a8d-1e2f-4a3b-9c8d-7e6f5a4b3c2d"

	// Series keys of flatten.
	channels = "gcnotify.rest.requests{http.request.method=POST,http.response.status_code=%d,url.template=/api/v2/notifications/channels}"
	subs     = "gcnotify.rest.requests{http.request.method=PUT,http.response.status_code=200,url.template=/api/v2/notifications/channels/{id}/subscriptions}"
	bulk     = "gcnotify.rest.requests{http.request.method=GET,http.response.status_code=200,url.template=/api/v2/users/presences/purecloud/bulk}"
	consumed = "messaging.client.consumed.messages{messaging.destination.template=v2.users.{id}.presence,messaging.system=genesys_cloud}"
	dropped  = "gcnotify.events.dropped{messaging.destination.template=v2.users.{id}.presence,messaging.system=genesys_cloud}"
)

// flatten gives each series its value: the sum of a counter, the count
// of a histogram (as "name count"), keyed by name and attributes.
func flatten(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[series(m.Name, p.Attributes.ToSlice())] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[series(m.Name, p.Attributes.ToSlice())+" count"] = int64(p.Count)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// series is name{k=v,…}, the attributes sorted by key, or name alone.
func series(name string, attrs []attribute.KeyValue) string {
	if len(attrs) == 0 {
		return name
	}
	kv := make([]string, len(attrs))
	for i, a := range attrs {
		kv[i] = string(a.Key) + "=" + a.Value.String()
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

// want fails unless got holds the series of want with their values
// (want's histograms as counts), and no other series of those
// instruments.
func want(t *testing.T, phase string, got map[string]int64, want map[string]int64) {
	t.Helper()
	names := map[string]bool{}
	for k := range want {
		names[strings.TrimSuffix(strings.SplitN(k, "{", 2)[0], " count")] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(got)) {
		name := strings.TrimSuffix(strings.SplitN(k, "{", 2)[0], " count")
		if names[name] && got[k] != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s = %d, want %d", k, got[k], want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s missing, want %d", k, want[k]))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%s:\n%s", phase, strings.Join(diffs, "\n"))
	}
}

// consumer reads a client's events.
type consumer struct {
	t *testing.T
	c *notify.Client
}

func (c consumer) next() notify.Event {
	c.t.Helper()
	select {
	case ev, ok := <-c.c.Events():
		if !ok {
			c.t.Fatal("Events() closed")
		}
		return ev
	case <-time.After(waitTimeout):
		c.t.Fatal("no event in time")
	}
	return nil
}

// await skips events until one of type T arrives and returns it.
func await[T notify.Event](c consumer) T {
	c.t.Helper()
	for {
		if v, ok := c.next().(T); ok {
			return v
		}
	}
}

// awaitHooks waits for n calls of the Delivered and Dropped hooks.
func awaitHooks(t *testing.T, seen <-chan struct{}, n int) {
	t.Helper()
	for range n {
		select {
		case <-seen:
		case <-time.After(waitTimeout):
			t.Fatal("notifications neither delivered nor dropped in time")
		}
	}
}

// The metrics count what happened exactly, through a 429, live events, a
// drop, the resyncs after it and a stalled consumer.
func TestMetricsCountWhatHappened(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: -1})
	t.Cleanup(srv.Close)
	reader := sdkmetric.NewManualReader()
	tr, err := otelnotify.NewTrace(otelnotify.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		t.Fatal(err)
	}
	// The test learns of each notification delivered or dropped.
	seen := make(chan struct{}, 100)
	delivered, droppedOne := tr.Delivered, tr.Dropped
	tr.Delivered = func(i notify.DeliveredInfo) { delivered(i); seen <- struct{}{} }
	tr.Dropped = func(i notify.DroppedInfo) { droppedOne(i); seen <- struct{}{} }

	c, err := notify.New(srv.TokenSource(), notify.WithAPIBaseURL(srv.URL()), notify.WithTrace(tr), notify.WithSnapshots(),
		notify.WithEventBuffer(4), notify.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Subscribe(t.Context(), "v2.users."+userA+".presence", "v2.users."+userB+".presence"); err != nil {
		t.Fatal(err)
	}
	srv.FailNext(1, http.StatusTooManyRequests, 0) // the first channel creation
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(context.Background()) }()
	t.Cleanup(func() {
		c.Close()
		<-runErr
	})
	ev := consumer{t, c}

	await[notify.Disconnected](ev)
	await[notify.Resynced](ev)
	want(t, "connected after a 429", flatten(t, reader), map[string]int64{
		fmt.Sprintf(channels, 429): 1, fmt.Sprintf(channels, 200): 1, subs: 1, bulk: 1,
		"gcnotify.budget.wait count":     4,
		"gcnotify.channels.connected":    1,
		"gcnotify.snapshots":             2,
		"gcnotify.resync.duration count": 1,
	})

	for _, p := range []string{"Busy", "Away", "Available"} {
		srv.SetPresence(userA, p)
		await[notify.Notification](ev)
		awaitHooks(t, seen, 1) // the hook follows the notification onto Events()
	}
	want(t, "live events", flatten(t, reader), map[string]int64{consumed: 3})

	srv.DropAll()
	await[notify.Disconnected](ev)
	await[notify.Resynced](ev)
	want(t, "after a drop", flatten(t, reader), map[string]int64{
		"gcnotify.reconnects{gcnotify.gap=true}": 1,
		"gcnotify.gap.duration count":            1,
		"gcnotify.channels.connected":            1,
		fmt.Sprintf(channels, 429):               1,
		fmt.Sprintf(channels, 200):               1,
		subs:                                     2,
		bulk:                                     2,
		"gcnotify.snapshots":                     4,
		"gcnotify.resync.duration count":         2,
	})

	for i := range 10 { // the consumer reads none of them: 4 fit in the buffer
		srv.SetPresence(userB, []string{"Busy", "Away"}[i%2])
	}
	// The fifth is dropped; a notification that comes as the pump hands
	// that Dropped on waits behind it rather than join a second one.
	awaitHooks(t, seen, 9)
	notes, drops := 0, 0
	for notes+drops < 10 {
		switch ev := ev.next().(type) {
		case notify.Notification:
			notes++
		case notify.Dropped:
			drops += ev.Count
		}
	}
	awaitHooks(t, seen, notes+drops-9) // the one that waited
	want(t, "a stalled consumer", flatten(t, reader), map[string]int64{consumed: int64(3 + notes), dropped: int64(drops)})
	if notes < 4 || drops < 5 {
		t.Fatalf("the consumer read %d notifications and %d dropped, want at least 4 and 5", notes, drops)
	}
}
