package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// waitTimeout bounds every wait for an event; it is a failure bound, not
// a delay: tests proceed as soon as the event arrives.
const waitTimeout = 10 * time.Second

// countingSource hands out a new token on every call and counts them.
type countingSource struct{ n atomic.Int64 }

func (s *countingSource) Token() (*oauth2.Token, error) {
	n := s.n.Add(1)
	return &oauth2.Token{AccessToken: fmt.Sprintf("token-%d", n), Expiry: time.Now().Add(time.Hour)}, nil
}

type harness struct {
	t      *testing.T
	srv    *notifytest.Server
	c      *notify.Client
	tokens *countingSource
	runErr chan error
}

// start runs a client against srv with short timings.
func start(t *testing.T, srv *notifytest.Server, opts ...notify.Option) *harness {
	t.Helper()
	h := &harness{t: t, srv: srv, tokens: &countingSource{}, runErr: make(chan error, 1)}
	opts = append([]notify.Option{
		notify.WithAPIBaseURL(srv.URL()),
		notify.WithBackoff(time.Millisecond, 20*time.Millisecond),
		notify.WithHeartbeatTimeout(2 * time.Second),
	}, opts...)
	c, err := notify.New(h.tokens, opts...)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	go func() { h.runErr <- c.Run(context.Background()) }()
	t.Cleanup(func() {
		c.Close()
		<-h.runErr
	})
	return h
}

func newServer(t *testing.T, cfg notifytest.Config) *notifytest.Server {
	srv := notifytest.NewServer(cfg)
	t.Cleanup(srv.Close)
	return srv
}

// next returns the next event, failing the test if none comes in time.
func (h *harness) next() notify.Event {
	h.t.Helper()
	select {
	case ev, ok := <-h.c.Events():
		if !ok {
			h.t.Fatal("Events() closed")
		}
		return ev
	case <-time.After(waitTimeout):
		h.t.Fatal("no event in time")
	}
	return nil
}

// await skips events until one of type T arrives and returns it. Skipped
// notifications fail the test unless allowed.
func await[T notify.Event](h *harness) T {
	h.t.Helper()
	for {
		ev := h.next()
		if v, ok := ev.(T); ok {
			return v
		}
		h.t.Logf("skipping %T %+v", ev, ev)
	}
}

// publishAndReceive publishes n events on topic and checks that each
// arrives exactly once, in order, and that nothing else arrives between.
func (h *harness) publishAndReceive(topic string, n int, seen map[string]bool) {
	h.t.Helper()
	var ids []string
	for i := range n {
		id, delivered := h.srv.Publish(topic, map[string]int{"seq": i})
		if delivered != 1 {
			h.t.Fatalf("Publish delivered to %d sockets, want 1", delivered)
		}
		ids = append(ids, id)
	}
	for i, id := range ids {
		ev := h.next()
		got, ok := ev.(notify.Notification)
		if !ok {
			h.t.Fatalf("event %d: got %T %+v, want a notification", i, ev, ev)
		}
		if got.Topic != topic || got.CorrelationID != id {
			h.t.Fatalf("event %d: got %s/%s, want %s/%s", i, got.Topic, got.CorrelationID, topic, id)
		}
		if seen[id] {
			h.t.Fatalf("event %s delivered twice", id)
		}
		seen[id] = true
	}
}

// checkServerSet asserts that the server holds exactly Topics() on ch.
func (h *harness) checkServerSet(ch string) {
	h.t.Helper()
	got, want := h.srv.Subscriptions(ch), h.c.Topics()
	if !slices.Equal(got, want) {
		h.t.Fatalf("server set %v, Topics() %v", got, want)
	}
}

func TestConnectSubscribeReceive(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: 50 * time.Millisecond})
	h := start(t, srv)
	topics := []string{"v2.users.u1.presence", "v2.routing.queues.q1.conversations"}
	if err := h.c.Subscribe(t.Context(), topics...); err != nil {
		t.Fatal(err)
	}
	c := await[notify.Connected](h)
	if c.Reconnect || c.Gap || c.ChannelID == "" {
		t.Fatalf("first Connected = %+v", c)
	}
	h.checkServerSet(c.ChannelID)

	body := json.RawMessage(`{"id":"u1","presenceDefinition":{"systemPresence":"Available"}}`)
	id, _ := srv.Publish(topics[0], body)
	n := await[notify.Notification](h)
	if n.Topic != topics[0] || n.CorrelationID != id || n.Version != "2" || string(n.Body) != string(body) || n.Received.IsZero() {
		t.Fatalf("notification = %+v", n)
	}
	type presence struct {
		PresenceDefinition struct{ SystemPresence string }
	}
	p, err := notify.Decode[presence](n)
	if err != nil || p.PresenceDefinition.SystemPresence != "Available" {
		t.Fatalf("Decode = %+v, %v", p, err)
	}
	h.publishAndReceive(topics[1], 20, map[string]bool{})
}

func TestSubscribeAndUnsubscribeWhileConnected(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.a.presence"); err != nil {
		t.Fatal(err)
	}
	ch := await[notify.Connected](h).ChannelID
	if err := h.c.Subscribe(t.Context(), "v2.users.b.presence", "v2.users.c.presence", "v2.users.b.presence"); err != nil {
		t.Fatal(err)
	}
	h.checkServerSet(ch)
	if got := h.c.Topics(); len(got) != 3 {
		t.Fatalf("Topics() = %v", got)
	}
	h.publishAndReceive("v2.users.b.presence", 3, map[string]bool{})

	if err := h.c.Unsubscribe(t.Context(), "v2.users.a.presence", "v2.users.unknown.presence"); err != nil {
		t.Fatal(err)
	}
	h.checkServerSet(ch)
	if _, delivered := srv.Publish("v2.users.a.presence", 1); delivered != 0 {
		t.Fatal("unsubscribed topic still delivered")
	}
	for _, bad := range []string{"", "v2.users.a presence", "v2.users.\n"} {
		if err := h.c.Subscribe(t.Context(), bad); !errors.Is(err, notify.ErrInvalidTopic) {
			t.Errorf("Subscribe(%q) = %v, want ErrInvalidTopic", bad, err)
		}
	}
}

func TestRejectedTopicsAreReportedAndRemoved(t *testing.T) {
	srv := newServer(t, notifytest.Config{
		Permit: func(topic string) (bool, string, []string) {
			if strings.Contains(topic, "adherence") {
				return false, "missing permission", []string{"wfm:agentAdherence:notify"}
			}
			return true, "", nil
		},
	})
	h := start(t, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.a.presence", "v2.users.a.workforcemanagement.adherence"); err != nil {
		t.Fatal(err) // not connected yet: the verdict comes with the replay
	}
	r := await[notify.Rejected](h)
	if r.Topic != "v2.users.a.workforcemanagement.adherence" || r.Reason == "" || !slices.Equal(r.MissingPermissions, []string{"wfm:agentAdherence:notify"}) {
		t.Fatalf("Rejected = %+v", r)
	}
	ch := await[notify.Connected](h).ChannelID
	h.checkServerSet(ch)

	err := h.c.Subscribe(t.Context(), "v2.users.b.workforcemanagement.adherence", "v2.users.b.presence")
	if !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), "v2.users.b.workforcemanagement.adherence") {
		t.Fatalf("Subscribe = %v, want ErrRejected naming the topic", err)
	}
	if r := await[notify.Rejected](h); r.Topic != "v2.users.b.workforcemanagement.adherence" {
		t.Fatalf("Rejected = %+v", r)
	}
	h.checkServerSet(ch)
	if want := []string{"v2.users.a.presence", "v2.users.b.presence"}; !slices.Equal(h.c.Topics(), want) {
		t.Fatalf("Topics() = %v, want %v", h.c.Topics(), want)
	}
}

func TestTooManyTopicsChangesNothing(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv)
	topics := make([]string, notify.MaxTopics)
	for i := range topics {
		topics[i] = fmt.Sprintf("v2.users.%d.presence", i)
	}
	if err := h.c.Subscribe(t.Context(), topics...); err != nil {
		t.Fatal(err)
	}
	ch := await[notify.Connected](h).ChannelID
	if err := h.c.Subscribe(t.Context(), "v2.users.extra.presence"); !errors.Is(err, notify.ErrTooManyTopics) {
		t.Fatalf("Subscribe past the limit = %v", err)
	}
	if got := len(h.c.Topics()); got != notify.MaxTopics {
		t.Fatalf("%d topics after a refused Subscribe", got)
	}
	h.checkServerSet(ch)
}

// After each of many abrupt drops the server's set equals Topics(), the
// gap is reported, and events published after Connected arrive once.
func TestRecoversFromRepeatedFaults(t *testing.T) {
	faults := map[string]func(*notifytest.Server){
		"drop":      (*notifytest.Server).DropAll,
		"close1001": func(s *notifytest.Server) { s.CloseAll(websocket.StatusGoingAway, "idle timeout") },
		"close1011": func(s *notifytest.Server) { s.CloseAll(websocket.StatusInternalError, "oops") },
		"close4000": func(s *notifytest.Server) { s.CloseAll(4000, "bye") },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t, notifytest.Config{})
			h := start(t, srv)
			topic := "v2.users.u.presence"
			if err := h.c.Subscribe(t.Context(), topic, "v2.users.v.presence"); err != nil {
				t.Fatal(err)
			}
			first := await[notify.Connected](h)
			seen := map[string]bool{}
			h.publishAndReceive(topic, 5, seen)
			for round := range 25 {
				fault(srv)
				d := h.next()
				if d, ok := d.(notify.Disconnected); !ok || d.Err == nil || d.ChannelID != first.ChannelID {
					t.Fatalf("round %d: got %T %+v, want Disconnected with an error", round, d, d)
				}
				c := await[notify.Connected](h)
				if !c.Reconnect || !c.Gap || c.Downtime <= 0 {
					t.Fatalf("round %d: Connected = %+v", round, c)
				}
				if c.ChannelID != first.ChannelID {
					t.Fatalf("round %d: channel %s, want the first one %s reused", round, c.ChannelID, first.ChannelID)
				}
				h.checkServerSet(c.ChannelID)
				h.publishAndReceive(topic, 5, seen)
				if round%5 == 0 {
					extra := fmt.Sprintf("v2.users.r%d.presence", round)
					if err := h.c.Subscribe(t.Context(), extra); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := srv.Stats().ChannelsCreated; got != 1 {
				t.Fatalf("%d channels created, want 1", got)
			}
		})
	}
}

func TestStalledSocketIsReplaced(t *testing.T) {
	const hb = 100 * time.Millisecond
	srv := newServer(t, notifytest.Config{HeartbeatInterval: 30 * time.Millisecond})
	h := start(t, srv, notify.WithHeartbeatTimeout(hb))
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	await[notify.Connected](h)
	stalled := time.Now()
	srv.Stall()
	d := await[notify.Disconnected](h)
	if !errors.Is(d.Err, notify.ErrHeartbeatTimeout) {
		t.Fatalf("Disconnected.Err = %v, want ErrHeartbeatTimeout", d.Err)
	}
	c := await[notify.Connected](h)
	if el := time.Since(stalled); el > 4*hb {
		t.Fatalf("stalled socket replaced after %v, want within a few heartbeat timeouts", el)
	}
	h.checkServerSet(c.ChannelID)
	h.publishAndReceive("v2.users.u.presence", 3, map[string]bool{})
}

func TestPingKeepsAQuietSocket(t *testing.T) {
	// No heartbeats from the server: only the client's pings and their
	// pongs keep the socket alive, so it must not be replaced.
	const hb = 50 * time.Millisecond
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	h := start(t, srv, notify.WithHeartbeatTimeout(hb))
	await[notify.Connected](h)
	deadline := time.After(10 * hb)
	for {
		select {
		case ev := <-h.c.Events():
			t.Fatalf("quiet but healthy socket produced %T %+v", ev, ev)
		case <-deadline:
			return
		}
	}
}

func TestEvictedChannelIsReplaced(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	old := await[notify.Connected](h).ChannelID
	srv.Evict(old)
	if d := await[notify.Disconnected](h); !errors.Is(d.Err, notify.ErrChannelGone) {
		t.Fatalf("Disconnected.Err = %v, want ErrChannelGone", d.Err)
	}
	c := await[notify.Connected](h)
	if c.ChannelID == old || !c.Gap {
		t.Fatalf("Connected = %+v after eviction of %s", c, old)
	}
	h.checkServerSet(c.ChannelID)
	h.publishAndReceive("v2.users.u.presence", 3, map[string]bool{})
}

func TestChannelGoneWhileDisconnectedIsReplaced(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv, notify.WithBackoff(50*time.Millisecond, 50*time.Millisecond))
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	old := await[notify.Connected](h).ChannelID
	srv.DropAll()
	await[notify.Disconnected](h)
	srv.Evict(old) // the dial to the remembered channel gets a 404
	c := await[notify.Connected](h)
	if c.ChannelID == old {
		t.Fatal("reconnected to an evicted channel")
	}
	h.checkServerSet(c.ChannelID)
}

func TestTokenRevokedGetsFreshTokenAndChannel(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	old := await[notify.Connected](h).ChannelID
	before := h.tokens.n.Load()
	srv.TokenRevoked(old)
	if d := await[notify.Disconnected](h); !errors.Is(d.Err, notify.ErrTokenRevoked) {
		t.Fatalf("Disconnected.Err = %v", d.Err)
	}
	c := await[notify.Connected](h)
	if c.ChannelID == old || h.tokens.n.Load() == before {
		t.Fatalf("after revocation: channel %s (old %s), tokens fetched %d -> %d", c.ChannelID, old, before, h.tokens.n.Load())
	}
	h.checkServerSet(c.ChannelID)
}

// A planned close is answered make-before-break: a new channel is
// subscribed before the old socket is let go, and every event published
// meanwhile arrives exactly once.
func TestPlannedCloseHandsOverWithoutGap(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: 20 * time.Millisecond})
	h := start(t, srv, notify.WithEventBuffer(1<<16), notify.WithHeartbeatTimeout(200*time.Millisecond))
	topic := "v2.users.u.presence"
	if err := h.c.Subscribe(t.Context(), topic); err != nil {
		t.Fatal(err)
	}
	old := await[notify.Connected](h).ChannelID

	published := make(chan []string, 1)
	stop := make(chan struct{})
	stopped := sync.OnceFunc(func() { close(stop) })
	defer stopped()
	go func() {
		var ids []string
		defer func() { published <- ids }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id, delivered := srv.Publish(topic, i)
			if delivered == 0 {
				t.Errorf("event %d reached no socket during the handover", i)
			}
			ids = append(ids, id)
		}
	}()

	srv.SocketClosing(old)
	var got []string
	var next notify.Connected
	for next.ChannelID == "" {
		switch ev := h.next().(type) {
		case notify.Notification:
			got = append(got, ev.CorrelationID)
		case notify.Connected:
			next = ev
		default:
			t.Fatalf("unexpected %T %+v during a handover", ev, ev)
		}
	}
	if !next.Reconnect || next.Gap || next.ChannelID == old {
		t.Fatalf("Connected = %+v after a planned close of %s", next, old)
	}
	// The old socket is let go by the client, not by the server.
	for deadline := time.Now().Add(waitTimeout); ; {
		if chs := srv.Channels(); !slices.ContainsFunc(chs, func(c notifytest.Channel) bool { return c.ID == old && c.Connected }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old socket still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopped()
	ids := <-published
	for len(got) < len(ids) {
		switch ev := h.next().(type) {
		case notify.Notification:
			got = append(got, ev.CorrelationID)
		default:
			t.Fatalf("unexpected %T %+v", ev, ev)
		}
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for i, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("event %d (%s) delivered %d times", i, id, seen[id])
		}
	}
	h.checkServerSet(next.ChannelID)
	h.publishAndReceive(topic, 3, map[string]bool{}) // the stream goes on, no late copies
	t.Logf("%d events published across the handover, each delivered once", len(ids))
}

func TestFailedHandoverFallsBackToReconnectWithGap(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv, notify.WithBackoff(time.Hour, time.Hour))
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	old := await[notify.Connected](h).ChannelID
	srv.FailNext(1, 503, 0) // the handover's channel creation
	srv.SocketClosing(old)
	h.publishAndReceive("v2.users.u.presence", 2, map[string]bool{}) // still served by the old socket
	srv.CloseAll(websocket.StatusGoingAway, "maintenance")
	d := await[notify.Disconnected](h)
	if !errors.Is(d.Err, notify.ErrPlannedClose) || d.RetryIn != 0 {
		t.Fatalf("Disconnected = %+v, want ErrPlannedClose and no wait", d)
	}
	c := await[notify.Connected](h)
	if !c.Gap || c.ChannelID == old {
		t.Fatalf("Connected = %+v, want a gap on a new channel", c)
	}
	h.checkServerSet(c.ChannelID)
}

func TestChannelIsRenewedBeforeItExpires(t *testing.T) {
	srv := newServer(t, notifytest.Config{ChannelTTL: 300 * time.Millisecond})
	h := start(t, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	ch := await[notify.Connected](h).ChannelID
	// Three lifetimes: without renewal the channel would be gone.
	deadline := time.Now().Add(900 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case ev := <-h.c.Events():
			t.Fatalf("unexpected %T %+v while renewing", ev, ev)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if calls := srv.Stats().SubscriptionCalls; calls < 4 {
		t.Fatalf("%d subscription calls in three channel lifetimes, want renewals", calls)
	}
	h.checkServerSet(ch)
	h.publishAndReceive("v2.users.u.presence", 2, map[string]bool{})
}

func TestGarbageFrameIsSkipped(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	ch := await[notify.Connected](h).ChannelID
	for _, g := range []string{`not json`, `{"topicName":`, `{"eventBody":{}}`, `[]`, `{"topicName":7}`} {
		srv.SendRaw(ch, []byte(g))
	}
	h.publishAndReceive("v2.users.u.presence", 3, map[string]bool{})
}

func TestOversizedFrameReconnects(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv, notify.WithReadLimit(4096))
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	await[notify.Connected](h)
	srv.Publish("v2.users.u.presence", map[string]string{"big": strings.Repeat("x", 8192)})
	if d := await[notify.Disconnected](h); d.Err == nil {
		t.Fatal("oversized frame: Disconnected without error")
	}
	await[notify.Connected](h)
	h.publishAndReceive("v2.users.u.presence", 2, map[string]bool{})
}

func TestSlowConsumerGetsDroppedCount(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	h := start(t, srv, notify.WithEventBuffer(4))
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	await[notify.Connected](h)
	const n = 200
	for i := range n {
		srv.Publish("v2.users.u.presence", i)
	}
	delivered, dropped, last := 0, 0, -1
	for delivered+dropped < n {
		switch ev := h.next().(type) {
		case notify.Notification:
			seq, _ := notify.Decode[int](ev)
			if seq <= last {
				t.Fatalf("event %d after %d", seq, last)
			}
			last = seq
			delivered++
		case notify.Dropped:
			dropped += ev.Count
		default:
			t.Fatalf("unexpected %T %+v", ev, ev)
		}
	}
	if dropped == 0 {
		t.Fatal("a consumer that did not read lost nothing with a buffer of 4: test did not exercise the overflow")
	}
	t.Logf("delivered %d, dropped %d", delivered, dropped)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(1, 429, 2*time.Second)
	h := start(t, srv)
	d := await[notify.Disconnected](h)
	var ae *notify.APIError
	if !errors.As(d.Err, &ae) || ae.Status != 429 || ae.RetryAfter != 2*time.Second {
		t.Fatalf("Disconnected.Err = %v", d.Err)
	}
	if d.RetryIn < 2*time.Second {
		t.Fatalf("RetryIn %v shorter than Retry-After", d.RetryIn)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(3, 503, 0)
	h := start(t, srv)
	for range 3 {
		d := await[notify.Disconnected](h)
		if !strings.Contains(d.Err.Error(), "503") {
			t.Fatalf("Disconnected.Err = %v", d.Err)
		}
	}
	if c := await[notify.Connected](h); c.Reconnect {
		t.Fatalf("first successful connection reported as reconnect: %+v", c)
	}
}

func TestUnauthorizedOnceFetchesFreshToken(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(1, 401, 0)
	h := start(t, srv)
	if c := await[notify.Connected](h); c.Reconnect {
		t.Fatalf("Connected = %+v", c)
	}
	if got := h.tokens.n.Load(); got != 2 {
		t.Fatalf("%d tokens fetched, want 2 (the refused one and a fresh one)", got)
	}
}

func TestUnauthorizedTwiceEndsRun(t *testing.T) {
	srv := newServer(t, notifytest.Config{Authorize: func(string) bool { return false }})
	h := start(t, srv)
	select {
	case err := <-h.runErr:
		if !errors.Is(err, notify.ErrUnauthorized) {
			t.Fatalf("Run = %v, want ErrUnauthorized", err)
		}
		if strings.Contains(err.Error(), "token-") {
			t.Fatalf("error %q carries the token", err)
		}
		h.runErr <- err // for Cleanup
	case <-time.After(waitTimeout):
		t.Fatal("Run did not end")
	}
	if _, open := <-h.c.Events(); open {
		// Drain: an event may precede the close.
		for range h.c.Events() {
		}
	}
}

func TestMaxAttemptsEndsRunWithLastError(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(100, 500, 0)
	h := start(t, srv, notify.WithMaxAttempts(3))
	for range 2 {
		await[notify.Disconnected](h)
	}
	select {
	case err := <-h.runErr:
		var ae *notify.APIError
		if !errors.As(err, &ae) || ae.Status != 500 {
			t.Fatalf("Run = %v, want the last APIError 500", err)
		}
		h.runErr <- err
	case <-time.After(waitTimeout):
		t.Fatal("Run did not end")
	}
}

func TestImmediateDropsAreNotHammered(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, srv, notify.WithBackoff(10*time.Millisecond, 10*time.Second))
	var delays []time.Duration
	for range 6 {
		await[notify.Connected](h)
		srv.DropAll()
		delays = append(delays, await[notify.Disconnected](h).RetryIn)
	}
	// Doubling from 10ms with ±50% jitter: the sixth is at least 160ms.
	if delays[5] < 160*time.Millisecond {
		t.Fatalf("delays %v: backoff was reset by connections that dropped at once", delays)
	}
}

func TestCloseDuringBackoffIsPrompt(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(1, 500, 0)
	h := start(t, srv, notify.WithBackoff(time.Hour, time.Hour))
	if d := await[notify.Disconnected](h); d.RetryIn < 30*time.Minute {
		t.Fatalf("RetryIn = %v", d.RetryIn)
	}
	start := time.Now()
	h.c.Close()
	if err := <-h.runErr; !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Run = %v, want ErrClosed", err)
	}
	h.runErr <- nil
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Close took %v", el)
	}
	if _, open := <-h.c.Events(); open {
		t.Fatal("Events() still open after Close")
	}
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v", err)
	}
}

func TestContextEndsRun(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	c, err := notify.New(&countingSource{}, notify.WithAPIBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	if _, ok := (<-c.Events()).(notify.Connected); !ok {
		t.Fatal("first event is not Connected")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if _, open := <-c.Events(); open {
		t.Fatal("Events() open after Run returned")
	}
	if err := c.Run(t.Context()); err == nil {
		t.Fatal("second Run succeeded")
	}
	c.Close()
}

func TestCloseBeforeRun(t *testing.T) {
	c, err := notify.New(&countingSource{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	if _, open := <-c.Events(); open {
		t.Fatal("Events() open after Close")
	}
	if err := c.Run(t.Context()); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Run after Close = %v", err)
	}
}
