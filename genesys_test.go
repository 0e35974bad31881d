package notify_test

// Behaviour of the Genesys Cloud protocol only: channels, planned closes,
// REST error policy.

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/notifytest"
)

func TestEvictedChannelIsReplaced(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, genesysProtocol, srv)
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
	h.checkServerSet(c)
	h.publishAndReceive("v2.users.u.presence", 3, map[string]bool{})
}

func TestChannelGoneWhileDisconnectedIsReplaced(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, genesysProtocol, srv, notify.WithBackoff(50*time.Millisecond, 50*time.Millisecond))
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
	h.checkServerSet(c)
}

func TestTokenRevokedGetsFreshTokenAndChannel(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, genesysProtocol, srv)
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
	h.checkServerSet(c)
}

// A planned close is answered make-before-break: a new channel is
// subscribed before the old socket is let go, and every event published
// meanwhile arrives exactly once.
func TestPlannedCloseHandsOverWithoutGap(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: 20 * time.Millisecond})
	h := start(t, genesysProtocol, srv, notify.WithEventBuffer(1<<16), notify.WithHeartbeatTimeout(200*time.Millisecond))
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
	h.checkServerSet(next)
	h.publishAndReceive(topic, 3, map[string]bool{}) // the stream goes on, no late copies
	t.Logf("%d events published across the handover, each delivered once", len(ids))
}

func TestFailedHandoverFallsBackToReconnectWithGap(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, genesysProtocol, srv, notify.WithBackoff(time.Hour, time.Hour))
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
	h.checkServerSet(c)
}

func TestChannelIsRenewedBeforeItExpires(t *testing.T) {
	srv := newServer(t, notifytest.Config{ChannelTTL: 300 * time.Millisecond})
	h := start(t, genesysProtocol, srv)
	if err := h.c.Subscribe(t.Context(), "v2.users.u.presence"); err != nil {
		t.Fatal(err)
	}
	ch := await[notify.Connected](h)
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

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(1, 429, 2*time.Second)
	h := start(t, genesysProtocol, srv)
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
	h := start(t, genesysProtocol, srv)
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

func TestMaxAttemptsEndsRunWithLastError(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	srv.FailNext(100, 500, 0)
	h := start(t, genesysProtocol, srv, notify.WithMaxAttempts(3))
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

// A connectUri on a host the configuration does not name is never dialed:
// Run ends and says why.
func TestForeignStreamHostIsRefused(t *testing.T) {
	dialed := make(chan struct{}, 1)
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dialed <- struct{}{}
	}))
	defer foreign.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"streaming-0-x","connectUri":"ws://%s/channels/streaming-0-x","expires":"2099-01-01T00:00:00Z"}`,
			strings.Replace(foreign.Listener.Addr().String(), "127.0.0.1", "localhost", 1))
	}))
	defer api.Close()
	c, err := notify.New(&countingSource{}, notify.WithAPIBaseURL(api.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Run(t.Context())
	if !errors.Is(err, notify.ErrInsecureURL) || !strings.Contains(err.Error(), "streaming.mypurecloud.com") {
		t.Fatalf("Run = %v, want ErrInsecureURL naming the expected host", err)
	}
	select {
	case <-dialed:
		t.Fatal("the foreign host was dialed")
	default:
	}
}

// A live change that the server refuses as a whole (400) is narrowed to
// the topics it adds: the topics the channel holds stay subscribed at
// every request of the narrowing, so none of their events is lost.
func TestRefusedChangeKeepsLiveTopics(t *testing.T) {
	live := []string{"v2.users.a.presence", "v2.users.b.presence", "v2.users.c.presence"}
	var srv *notifytest.Server
	var channel atomic.Pointer[string]
	var mu sync.Mutex
	var missing []string // what the server lacked when a request came
	srv = newServer(t, notifytest.Config{Authorize: func(string) bool {
		if id := channel.Load(); id != nil {
			held := srv.Subscriptions(*id)
			for _, topic := range live {
				if !slices.Contains(held, topic) {
					mu.Lock()
					missing = append(missing, topic)
					mu.Unlock()
				}
			}
		}
		return true
	}})
	h := startSubscribed(t, genesysProtocol, srv, live)
	c := await[notify.Connected](h)
	channel.Store(&c.ChannelID)
	before := srv.Stats().SubscriptionCalls
	srv.FailNextOn("/api/v2/notifications/channels/*/subscriptions", 1, http.StatusBadRequest, 0)
	added := "v2.users.d.presence"
	if err := h.c.Subscribe(t.Context(), added); err != nil {
		t.Fatal(err)
	}
	channel.Store(nil)
	mu.Lock()
	defer mu.Unlock()
	if len(missing) > 0 {
		t.Fatalf("while narrowing a refused change, the server lacked the live topics %v", missing)
	}
	if calls := srv.Stats().SubscriptionCalls - before; calls < 2 {
		t.Fatalf("%d subscription calls after the refusal, want the narrowing", calls)
	}
	if got := srv.Subscriptions(c.ChannelID); !slices.Equal(got, append(slices.Clone(live), added)) {
		t.Fatalf("server holds %v", got)
	}
}

// A dial that hangs (here its subscription request) is given up after
// twice the heartbeat timeout and reported, and the next one connects: the
// channel never waits silently.
func TestHungDialIsGivenUpAndReported(t *testing.T) {
	var hang atomic.Bool
	entered, release := make(chan struct{}, 1), make(chan struct{})
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1, Authorize: func(string) bool {
		if hang.Load() {
			entered <- struct{}{}
			<-release
		}
		return true
	}})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server closes
	clk := clock.NewFake(time.Now())
	h := startSubscribed(t, genesysProtocol, srv, []string{"v2.users.u.presence"}, notify.WithClock(clk))
	await[notify.Connected](h)
	hang.Store(true)
	srv.DropAll()
	await[notify.Disconnected](h)
	clk.Advance(time.Second) // the backoff: the next dial starts, and hangs
	<-entered
	hang.Store(false)
	clk.Advance(10 * time.Second) // twice the heartbeat timeout
	d := await[notify.Disconnected](h)
	if d.Err == nil || !strings.Contains(d.Err.Error(), "connecting took longer than twice the heartbeat timeout") {
		t.Fatalf("Disconnected = %+v, want the dial given up", d)
	}
	unblock()
	clk.Advance(time.Second)
	if c := await[notify.Connected](h); !c.Gap {
		t.Fatalf("Connected = %+v, want a gap", c)
	}
}
