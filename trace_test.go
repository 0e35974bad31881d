package notify_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/notifytest"
)

// recorder keeps the arguments of a Trace's hooks, in the order of the
// calls, and signals each call on calls.
type recorder struct {
	mu    sync.Mutex
	infos []any
	calls chan struct{}
}

func newRecorder() *recorder { return &recorder{calls: make(chan struct{}, 1024)} }

func (r *recorder) add(info any) {
	r.mu.Lock()
	r.infos = append(r.infos, info)
	r.mu.Unlock()
	r.calls <- struct{}{}
}

// trace returns a Trace whose every hook records into r.
func (r *recorder) trace() *notify.Trace {
	return &notify.Trace{
		Channel:      func(i notify.ChannelInfo) { r.add(i) },
		Connected:    func(i notify.ConnectedInfo) { r.add(i) },
		Disconnected: func(i notify.DisconnectedInfo) { r.add(i) },
		Delivered:    func(i notify.DeliveredInfo) { r.add(i) },
		Dropped:      func(i notify.DroppedInfo) { r.add(i) },
		Request:      func(i notify.RequestInfo) { r.add(i) },
		BudgetWait:   func(i notify.BudgetWaitInfo) { r.add(i) },
		Resynced:     func(i notify.ResyncedInfo) { r.add(i) },
		CatalogRead:  func(i notify.CatalogReadInfo) { r.add(i) },
	}
}

// await waits for n more calls.
func (r *recorder) await(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-r.calls:
		case <-time.After(waitTimeout):
			t.Fatal("a trace hook was not called in time")
		}
	}
}

// recorded returns the infos of type T that r holds, in order.
func recorded[T any](r *recorder) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []T
	for _, i := range r.infos {
		if v, ok := i.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// wantInfos fails unless got equals want.
func wantInfos[T any](t *testing.T, got, want []T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%T hooks called with\n%+v\nwant\n%+v", want, got, want)
	}
}

// slowREST makes each REST request take took on clk: it advances the
// clock before sending it. WebSocket upgrades take no time. It sends the
// fake clock's pending timers at each request for path on sent.
type slowREST struct {
	clk  *clock.Fake
	took time.Duration
	path string
	sent chan int
}

func (s *slowREST) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Upgrade") == "" {
		if r.URL.Path == s.path {
			s.sent <- s.clk.Pending()
		}
		s.clk.Advance(s.took)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Connected, Disconnected and Channel see a drop as the events do, and the
// gap's length is the time the reconnect took on the client's clock.
func TestTraceReportsConnectionsAndTheGapsLength(t *testing.T) {
	const took = 250 * time.Millisecond
	clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	rec := newRecorder()
	rt := &slowREST{clk: clk, took: took}
	h := startSubscribed(t, genesysProtocol, srv, []string{"v2.users.u1.presence", "v2.users.u2.presence"},
		notify.WithClock(clk), notify.WithBackoff(0, time.Second), notify.WithTrace(&notify.Trace{
			Channel:      func(i notify.ChannelInfo) { rec.add(i) },
			Connected:    func(i notify.ConnectedInfo) { rec.add(i) },
			Disconnected: func(i notify.DisconnectedInfo) { rec.add(i) },
		}), notify.WithHTTPClient(&http.Client{Transport: rt}))
	first := await[notify.Connected](h)
	srv.DropAll()
	lost := await[notify.Disconnected](h)
	again := await[notify.Connected](h)
	if again.Downtime != took {
		t.Fatalf("Connected.Downtime = %v, want %v: the reconnect's one PUT", again.Downtime, took)
	}
	wantInfos(t, recorded[any](rec), []any{
		notify.ChannelInfo{ChannelID: first.ChannelID, Up: true},
		notify.ConnectedInfo{ChannelID: first.ChannelID, Topics: 2},
		notify.ChannelInfo{ChannelID: first.ChannelID},
		notify.DisconnectedInfo{ChannelID: first.ChannelID, Err: lost.Err},
		notify.ChannelInfo{ChannelID: again.ChannelID, Up: true},
		notify.ConnectedInfo{ChannelID: again.ChannelID, Reconnect: true, Gap: true, Downtime: took, Topics: 2},
	})
	h.c.Close() // the channel stops: down, for a gauge to reach 0
	if ch := recorded[notify.ChannelInfo](rec); len(ch) != 4 || ch[3] != (notify.ChannelInfo{ChannelID: again.ChannelID}) {
		t.Fatalf("Channel hooks: %+v; want a fourth, down, at Close", ch)
	}
}

// A handover changes no channel's state: Connected without Gap, and no
// Channel call.
func TestTraceHandoverKeepsTheChannelUp(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	rec := newRecorder()
	h := startSubscribed(t, genesysProtocol, srv, []string{"v2.users.u1.presence"}, notify.WithTrace(&notify.Trace{
		Channel:   func(i notify.ChannelInfo) { rec.add(i) },
		Connected: func(i notify.ConnectedInfo) { rec.add(i) },
	}))
	first := await[notify.Connected](h)
	srv.SocketClosing(first.ChannelID)
	next := await[notify.Connected](h)
	if next.Gap || next.ChannelID == first.ChannelID {
		t.Fatalf("Connected = %+v after a planned close, want a handover", next)
	}
	wantInfos(t, recorded[any](rec), []any{
		notify.ChannelInfo{ChannelID: first.ChannelID, Up: true},
		notify.ConnectedInfo{ChannelID: first.ChannelID, Topics: 1},
		notify.ConnectedInfo{ChannelID: next.ChannelID, Reconnect: true, Topics: 1},
	})
}

// Delivered names each notification put on Events(), Dropped each one
// the full buffer refused: as many as the Dropped events count.
func TestTraceReportsDeliveredAndDroppedNotifications(t *testing.T) {
	const topic = "v2.users.u1.presence"
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	rec := newRecorder()
	h := startSubscribed(t, genesysProtocol, srv, []string{topic}, notify.WithEventBuffer(2), notify.WithTrace(&notify.Trace{
		Delivered: func(i notify.DeliveredInfo) { rec.add(i) },
		Dropped:   func(i notify.DroppedInfo) { rec.add(i) },
	}))
	await[notify.Connected](h)
	for range 5 { // the consumer reads none of them yet
		srv.Publish(topic, map[string]string{"presence": "Busy"})
	}
	// Two fill the buffer and the third is dropped; one that comes as
	// that Dropped is handed on waits behind it rather than start a
	// second Dropped, and is delivered once the consumer reads.
	rec.await(t, 4)
	notes, drops := 0, 0
	for notes+drops < 5 {
		switch ev := h.next().(type) {
		case notify.Notification:
			notes++
		case notify.Dropped:
			drops += ev.Count
		}
	}
	rec.await(t, notes+drops-4)
	if notes < 2 || drops < 2 {
		t.Fatalf("the consumer read %d notifications and %d dropped, want at least 2 of each", notes, drops)
	}
	d := notify.DeliveredInfo{Topic: topic}
	wantInfos(t, recorded[notify.DeliveredInfo](rec), slices.Repeat([]notify.DeliveredInfo{d}, notes))
	p := notify.DroppedInfo{Topic: topic}
	wantInfos(t, recorded[notify.DroppedInfo](rec), slices.Repeat([]notify.DroppedInfo{p}, drops))
	if st := h.c.Stats(); st.Notifications != int64(notes) || st.Dropped != int64(drops) {
		t.Fatalf("Stats: %d notifications, %d dropped; the consumer read %d and %d", st.Notifications, st.Dropped, notes, drops)
	}
}

// Request reports every REST request with its route, status and time on
// the clock; BudgetWait the wait that a 429's Retry-After imposes; and
// Resynced the read after the first Connected, with the time it took.
func TestTraceReportsRequestsBudgetWaitsAndResyncs(t *testing.T) {
	const took, retryAfter = 100 * time.Millisecond, 2 * time.Second
	const bulk = "/api/v2/users/presences/purecloud/bulk"
	clk := clock.NewFake(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	srv.FailNextOn(bulk, 1, http.StatusTooManyRequests, retryAfter)
	rec := newRecorder()
	rt := &slowREST{clk: clk, took: took, path: bulk, sent: make(chan int, 2)}
	h := startSubscribed(t, genesysProtocol, srv, []string{"v2.users.u1.presence", "v2.users.u1.conversations"},
		notify.WithClock(clk), notify.WithSnapshots(), notify.WithTrace(rec.trace()),
		notify.WithHTTPClient(&http.Client{Transport: rt}))
	c := await[notify.Connected](h)
	// The 429's Retry-After holds the next read in the budget, on a new
	// timer.
	if err := clk.BlockUntil(t.Context(), <-rt.sent+1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(retryAfter)
	if r := await[notify.Resynced](h); len(r.Topics) != 1 || len(r.Skipped) != 1 {
		t.Fatalf("Resynced = %+v", r)
	}
	channel := "POST /api/v2/notifications/channels"
	subs := "PUT /api/v2/notifications/channels/{id}/subscriptions"
	wantInfos(t, recorded[notify.RequestInfo](rec), []notify.RequestInfo{
		{Route: channel, Status: http.StatusOK, Duration: took},
		{Route: subs, Status: http.StatusOK, Duration: took},
		{Route: "GET " + bulk, Status: http.StatusTooManyRequests, Duration: took},
		{Route: "GET " + bulk, Status: http.StatusOK, Duration: took},
	})
	wantInfos(t, recorded[notify.BudgetWaitInfo](rec), []notify.BudgetWaitInfo{{}, {}, {}, {Wait: retryAfter}})
	wantInfos(t, recorded[notify.ResyncedInfo](rec), []notify.ResyncedInfo{
		{ChannelID: c.ChannelID, Duration: took + retryAfter + took, Snapshots: 1, Skipped: 1},
	})
}

// A request that gets no answer is reported with status 0.
func TestTraceReportsARequestWithoutAnswer(t *testing.T) {
	rec := newRecorder()
	failing := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("no route to host") })
	c, err := notify.New(&countingSource{}, notify.WithAPIBaseURL("http://127.0.0.1:1"), notify.WithMaxAttempts(1),
		notify.WithHTTPClient(&http.Client{Transport: failing}),
		notify.WithTrace(&notify.Trace{Request: func(i notify.RequestInfo) { rec.add(i) }}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err == nil {
		t.Fatal("Run = nil without a server")
	}
	got := recorded[notify.RequestInfo](rec)
	if len(got) != 1 || got[0].Route != "POST /api/v2/notifications/channels" || got[0].Status != 0 {
		t.Fatalf("Request hooks: %+v", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A Trace whose hooks are all nil, or none, changes nothing.
func TestNilTraceAndNilHooks(t *testing.T) {
	for _, tr := range []*notify.Trace{nil, {}} {
		srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
		h := startSubscribed(t, genesysProtocol, srv, []string{"v2.users.u1.presence"}, notify.WithSnapshots(), notify.WithTrace(tr))
		await[notify.Connected](h)
		await[notify.Resynced](h)
		srv.DropAll()
		await[notify.Connected](h)
		await[notify.Resynced](h)
		h.publishAndReceive("v2.users.u1.presence", 1, map[string]bool{})
		if !slices.Equal(h.c.Topics(), []string{"v2.users.u1.presence"}) {
			t.Fatal(h.c.Topics())
		}
	}
}
