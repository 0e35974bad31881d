package notify_test

// Subscription changes never cost the stream, and the owner of a channel
// always watches its heartbeat.

import (
	"context"
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
	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/notifytest"
)

// Loading a roster one topic at a time: calls queued while a PUT is in
// flight ride the next one.
func TestConcurrentSubscribesShareFewPuts(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, genesysProtocol, srv)
	c := await[notify.Connected](h)
	before := srv.Stats().SubscriptionCalls
	const n = 1000
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs <- h.c.Subscribe(t.Context(), fmt.Sprintf("v2.users.u%04d.presence", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Subscribe = %v", err)
		}
	}
	puts := srv.Stats().SubscriptionCalls - before
	if puts > 10 {
		t.Fatalf("%d concurrent single-topic Subscribes made %d PUTs, want at most 10", n, puts)
	}
	if got := len(h.c.Topics()); got != n {
		t.Fatalf("Topics() has %d topics, want %d", got, n)
	}
	h.checkServerSet(c)
	t.Logf("%d concurrent Subscribes: %d PUTs", n, puts)
}

// A request-scoped context that has ended costs nothing: no change, no
// reconnect.
func TestDoneContextChangesNothing(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		h := start(t, p, srv)
		topic := "/users/u/presence"
		if p.name == "genesys" {
			topic = "v2.users.u.presence"
		}
		if err := h.c.Subscribe(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
		c := await[notify.Connected](h)
		done, cancel := context.WithCancel(t.Context())
		cancel()
		for i := range 20 {
			extra := strings.Replace(topic, "/u/", fmt.Sprintf("/x%d/", i), 1)
			if p.name == "genesys" {
				extra = fmt.Sprintf("v2.users.x%d.presence", i)
			}
			if err := h.c.Subscribe(done, extra); !errors.Is(err, context.Canceled) {
				t.Fatalf("Subscribe with a done context = %v", err)
			}
			if err := h.c.Unsubscribe(done, topic); !errors.Is(err, context.Canceled) {
				t.Fatalf("Unsubscribe with a done context = %v", err)
			}
		}
		if got := h.c.Topics(); !slices.Equal(got, []string{topic}) {
			t.Fatalf("Topics() = %v", got)
		}
		h.checkServerSet(c)
		// The next event is a notification on the same connection, not a
		// reconnect.
		h.publishAndReceive(topic, 3, map[string]bool{})
		if st := h.c.Stats(); st.Reconnects != 0 {
			t.Fatalf("%d reconnects", st.Reconnects)
		}
	})
}

// fakeStart runs a client whose time is clk; reconnects do not wait.
func fakeStart(t *testing.T, p protocol, srv *notifytest.Server, clk *clock.Fake, opts ...notify.Option) *harness {
	return start(t, p, srv, append([]notify.Option{notify.WithClock(clk), notify.WithBackoff(0, time.Second)}, opts...)...)
}

// A 429 on a live change is waited out and retried on the same socket.
func TestRateLimitedChangeIsRetriedOnTheSameSocket(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	h := fakeStart(t, genesysProtocol, srv, clk)
	c := await[notify.Connected](h)
	srv.FailNext(1, http.StatusTooManyRequests, 2*time.Second)
	start := clk.Now()
	result := make(chan error, 1)
	go func() { result <- h.c.Subscribe(t.Context(), "v2.users.late.presence") }()
	for {
		select {
		case err := <-result:
			if err != nil {
				t.Fatalf("Subscribe = %v", err)
			}
			if waited := clk.Now().Sub(start); waited < 2*time.Second {
				t.Fatalf("retried after %v, before Retry-After", waited)
			}
			h.checkServerSet(c)
			if st := srv.Stats(); st.ChannelsCreated != 1 {
				t.Fatalf("%d channels created", st.ChannelsCreated)
			}
			h.publishAndReceive("v2.users.late.presence", 2, map[string]bool{})
			return
		case ev := <-h.c.Events():
			t.Fatalf("%T %+v while a change was rate limited", ev, ev)
		case <-time.After(time.Millisecond):
			clk.Advance(250 * time.Millisecond)
		}
	}
}

// blockingPuts holds every subscription PUT that starts while on is set,
// until the request's context ends.
type blockingPuts struct {
	on      atomic.Bool
	blocked chan struct{}
}

func (b *blockingPuts) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && b.on.Load() {
		select {
		case b.blocked <- struct{}{}:
		default:
		}
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A PUT that hangs does not blind the heartbeat watch: a stalled socket
// is still replaced within 1.5 times the heartbeat timeout, and the change
// is subscribed on the next connection.
func TestHangingChangeDoesNotDelayReplacingAStalledSocket(t *testing.T) {
	const hb = 10 * time.Second
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	rt := &blockingPuts{blocked: make(chan struct{}, 1)}
	h := fakeStart(t, genesysProtocol, srv, clk, notify.WithHeartbeatTimeout(hb), notify.WithHTTPClient(&http.Client{Transport: rt}))
	await[notify.Connected](h)
	idle := clk.Pending()
	rt.on.Store(true)
	result := make(chan error, 1)
	go func() { result <- h.c.Subscribe(t.Context(), "v2.users.hung.presence") }()
	<-rt.blocked
	rt.on.Store(false) // that PUT hangs on; the next connection's will not
	srv.Stall()
	clk.Advance(hb) // silent for hb: a ping
	if err := clk.BlockUntil(t.Context(), idle); err != nil {
		t.Fatal(err)
	}
	clk.Advance(hb / 2) // silent hb/2 more: replaced
	d := await[notify.Disconnected](h)
	if !errors.Is(d.Err, notify.ErrHeartbeatTimeout) {
		t.Fatalf("Disconnected.Err = %v, want ErrHeartbeatTimeout", d.Err)
	}
	if err := <-result; err != nil {
		t.Fatalf("Subscribe = %v", err)
	}
	c := await[notify.Connected](h)
	if !c.Gap || !slices.Contains(c.Topics, "v2.users.hung.presence") {
		t.Fatalf("Connected = %+v", c)
	}
	h.checkServerSet(c)
}

// Both protocols find a dead socket within 1.5 times the heartbeat
// timeout: a ping after d of silence, the end d/2 later.
func TestDeadSocketIsFoundWithinOneAndAHalfTimeouts(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		const hb = 10 * time.Second
		clk := clock.NewFake(time.Now())
		srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
		h := fakeStart(t, p, srv, clk, notify.WithHeartbeatTimeout(hb))
		await[notify.Connected](h)
		idle := clk.Pending()
		srv.Stall()
		clk.Advance(hb)
		if err := clk.BlockUntil(t.Context(), idle); err != nil {
			t.Fatal(err)
		}
		clk.Advance(hb / 2)
		d := await[notify.Disconnected](h)
		if !errors.Is(d.Err, notify.ErrHeartbeatTimeout) {
			t.Fatalf("Disconnected.Err = %v after 1.5×%v of silence, want ErrHeartbeatTimeout", d.Err, hb)
		}
		c := await[notify.Connected](h)
		h.checkServerSet(c)
	})
}

// clockSource hands out a new token on every call, valid for two hours
// of clk's time.
type clockSource struct {
	clk *clock.Fake
	n   atomic.Int64
}

func (s *clockSource) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: fmt.Sprintf("secret-token-%d", s.n.Add(1)), Expiry: s.clk.Now().Add(2 * time.Hour)}, nil
}

// A server that accepts a re-authentication and at once sends an error
// frame about the connection: the reader redacts the new token while the
// owner's renewal stores it. Under -race this failed before the token was
// shared safely; the token never shows in the error.
func TestTokenFrameReauthRacingAConnectionError(t *testing.T) {
	reauthed := make(chan struct{}, 1)
	srv := newTokenFrameServer(t, func(ctx context.Context, c *websocket.Conn, tokens int) {
		if tokens == 2 {
			c.Write(ctx, websocket.MessageText, []byte(`{"event":"connected"}`))
			c.Write(ctx, websocket.MessageText, []byte(`{"event":"error","data":{"status":500,"message":"broken after secret-token-2"}}`))
			reauthed <- struct{}{}
		}
	})
	clk := clock.NewFake(time.Now())
	src := &clockSource{clk: clk}
	c, err := notify.New(src, notify.WithTokenFrameEndpoint(srv), notify.WithClock(clk), notify.WithBackoff(0, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(t.Context()) }()
	defer func() { c.Close(); <-runErr }()
	if _, ok := (<-c.Events()).(notify.Connected); !ok {
		t.Fatal("first event is not Connected")
	}
	clk.Advance(time.Hour) // renewal: one hour before the token expires
	<-reauthed
	for ev := range c.Events() {
		if d, ok := ev.(notify.Disconnected); ok {
			if d.Err == nil || strings.Contains(d.Err.Error(), "secret-token") {
				t.Fatalf("Disconnected.Err = %v", d.Err)
			}
			return
		}
	}
}

// newTokenFrameServer serves the token-frame handshake for any token and
// any topic and calls onToken after each access_token frame, with their
// count on this socket.
func newTokenFrameServer(t *testing.T, onToken func(ctx context.Context, c *websocket.Conn, tokens int)) string {
	hs := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		tokens := 0
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			switch s := string(data); {
			case strings.Contains(s, "access_token"):
				tokens++
				if tokens == 1 {
					c.Write(ctx, websocket.MessageText, []byte(`{"event":"connected"}`))
				}
				onToken(ctx, c, tokens)
			case strings.HasPrefix(s, `{"topic":`):
				c.Write(ctx, websocket.MessageText, []byte(`{"event":"subscribed","data":`+s+`}`))
			}
		}
	}))
	return "ws" + strings.TrimPrefix(hs, "http")
}

func httptestServer(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
