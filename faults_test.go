package notify_test

// No silent outage: every failure recovers by itself or ends Run saying
// why.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// awaitRunEnd drains the events until Run ends and returns its error,
// which it leaves for the harness's cleanup.
func awaitRunEnd(h *harness) error {
	h.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case err := <-h.runErr:
			for range h.c.Events() {
			}
			h.runErr <- err
			return err
		case <-h.c.Events():
		case <-deadline:
			h.t.Fatal("Run did not end")
		}
	}
}

// Credentials the token endpoint refuses end Run with ErrUnauthorized,
// wrapping the endpoint's answer, at start and while running; the secret
// shows nowhere.
func TestRefusedCredentialsEndRun(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		t.Run("at start", func(t *testing.T) {
			srv := newServer(t, notifytest.Config{})
			srv.RefuseCredentials(true)
			h := startWith(t, p, srv, srv.TokenSource(), nil)
			checkRefused(t, awaitRunEnd(h))
			if n := srv.Stats().TokenRequests; n > 2 {
				t.Fatalf("%d token requests for refused credentials", n)
			}
		})
		t.Run("while running", func(t *testing.T) {
			srv := newServer(t, notifytest.Config{})
			h := startWith(t, p, srv, srv.TokenSource(), nil)
			c := h.c
			if err := c.Subscribe(t.Context(), p.topic("v2.users.u.presence")); err != nil {
				t.Fatal(err)
			}
			for ev := range c.Events() {
				if _, ok := ev.(notify.Connected); ok {
					break
				}
			}
			srv.RefuseCredentials(true)
			if p.name == "genesys" {
				srv.TokenRevoked(c.Stats().Channels[0])
			} else {
				srv.ExpireTokens()
			}
			checkRefused(t, awaitRunEnd(h))
		})
	})
}

func checkRefused(t *testing.T, err error) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.Is(err, notify.ErrUnauthorized) || !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("Run = %v, want ErrUnauthorized wrapping the token endpoint's invalid_client", err)
	}
	if strings.Contains(err.Error(), "notifytest-secret") || strings.Contains(string(re.Body), "notifytest-secret") {
		t.Fatalf("the error carries the client secret: %v", err)
	}
}

// A token endpoint that fails for a while (5xx) is retried until it
// answers.
func TestTransientTokenFailuresAreRetried(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		srv.FailNextOn("/oauth/token", 3, http.StatusServiceUnavailable, 0)
		c := startWith(t, p, srv, srv.TokenSource(), nil).c
		failures := 0
		for ev := range c.Events() {
			switch ev := ev.(type) {
			case notify.Disconnected:
				if errors.Is(ev.Err, notify.ErrUnauthorized) {
					t.Fatalf("a 503 of the token endpoint counted as refused credentials: %v", ev.Err)
				}
				failures++
			case notify.Connected:
				if failures != 3 {
					t.Fatalf("connected after %d failed attempts, want 3", failures)
				}
				return
			}
		}
	})
}

// A replay the server refuses as a whole (400: here, more topics than
// its limit) is narrowed to the topics it refuses; they are reported as
// Rejected and leave the set, and the rest connect. No refused request
// is sent again unchanged.
func TestWholeReplayRefusalIsNarrowed(t *testing.T) {
	const limit, extra = 50, 10
	srv := newServer(t, notifytest.Config{MaxTopics: limit})
	topics := numbered(genesysProtocol, limit+extra)
	h := startSubscribed(t, genesysProtocol, srv, topics) // replayed on connect
	c := h.c
	rejected := 0
	var conn notify.Connected
	for conn.ChannelID == "" {
		switch ev := h.next().(type) {
		case notify.Rejected:
			rejected++
		case notify.Connected:
			conn = ev
		default:
			t.Fatalf("%T %+v", ev, ev)
		}
	}
	if rejected != extra || len(c.Topics()) != limit || len(conn.Topics) != limit {
		t.Fatalf("%d rejected, %d topics in the set, %d connected; want %d, %d, %d", rejected, len(c.Topics()), len(conn.Topics), extra, limit, limit)
	}
	h.checkServerSet(conn)
	if calls := srv.Stats().SubscriptionCalls; calls > 2+2*extra*7 {
		t.Fatalf("%d subscription calls to narrow %d topics", calls, limit+extra)
	}
	t.Logf("narrowed %d topics to %d refused in %d subscription calls", limit+extra, extra, srv.Stats().SubscriptionCalls)
}

// Calls in flight when the client closes return ErrClosed; a second Run
// is refused with ErrAlreadyRunning, and Run after the client closed with
// ErrClosed.
func TestCallsAtCloseAndSecondRun(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	rt := &blockingPuts{blocked: make(chan struct{}, 1)}
	h := start(t, genesysProtocol, srv, notify.WithHTTPClient(&http.Client{Transport: rt}))
	await[notify.Connected](h)
	if err := h.c.Run(t.Context()); !errors.Is(err, notify.ErrAlreadyRunning) {
		t.Fatalf("second Run = %v, want ErrAlreadyRunning", err)
	}
	rt.on.Store(true)
	result := make(chan error, 1)
	go func() { result <- h.c.Subscribe(context.Background(), "v2.users.late.presence") }()
	<-rt.blocked
	h.c.Close()
	if err := <-result; !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Subscribe in flight at Close = %v, want ErrClosed", err)
	}
	if err := h.c.Run(t.Context()); !errors.Is(err, notify.ErrClosed) {
		t.Fatalf("Run after Close = %v, want ErrClosed", err)
	}
}
