package notify_test

// Behaviour of the token-frame protocol only: re-authentication on the
// open socket and tokens the server ends.

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// shortSource hands out numbered tokens that live for life.
type shortSource struct {
	life time.Duration
	n    atomic.Int64
}

func (s *shortSource) Token() (*oauth2.Token, error) {
	n := s.n.Add(1)
	return &oauth2.Token{AccessToken: "short-" + string(rune('a'+n%26)), Expiry: time.Now().Add(s.life)}, nil
}

func TestTokenFrameReauthenticatesBeforeExpiry(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	src := &shortSource{life: 400 * time.Millisecond}
	c, err := notify.New(src, notify.WithTokenFrameEndpoint(srv.TokenFrameURL()))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, p: tokenFrameProtocol, srv: srv, c: c, runErr: make(chan error, 1)}
	go func() { h.runErr <- c.Run(t.Context()) }()
	t.Cleanup(func() { c.Close(); <-h.runErr })
	if err := c.Subscribe(t.Context(), "/users/u/presence", "/users/v/presence"); err != nil {
		t.Fatal(err)
	}
	conn := await[notify.Connected](h)
	// Three token lifetimes on one socket: each token is replaced on the
	// open socket at half its life, with no event for the user.
	deadline := time.Now().Add(1200 * time.Millisecond)
	for time.Now().Before(deadline) {
		select {
		case ev := <-c.Events():
			t.Fatalf("unexpected %T %+v while re-authenticating", ev, ev)
		case <-time.After(10 * time.Millisecond):
		}
	}
	stats := srv.Stats()
	if stats.Reauths < 3 || stats.Sockets != 1 || stats.DuplicateSubscribes != 0 {
		t.Fatalf("stats %+v: want ≥3 re-authentications on 1 socket without duplicate subscriptions", stats)
	}
	h.checkServerSet(conn)
	h.publishAndReceive("/users/u/presence", 3, map[string]bool{})
}

func TestTokenFrameExpiredTokenReconnectsWithFreshToken(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, tokenFrameProtocol, srv)
	if err := h.c.Subscribe(t.Context(), "/users/u/presence"); err != nil {
		t.Fatal(err)
	}
	await[notify.Connected](h)
	before := h.tokens.n.Load()
	srv.ExpireTokens()
	d := await[notify.Disconnected](h)
	if d.Err == nil || errors.Is(d.Err, notify.ErrUnauthorized) {
		t.Fatalf("Disconnected.Err = %v", d.Err)
	}
	c := await[notify.Connected](h)
	if !c.Gap || h.tokens.n.Load() != before+1 {
		t.Fatalf("Connected %+v with %d tokens fetched, want a gap and one fresh token", c, h.tokens.n.Load()-before)
	}
	h.checkServerSet(c)
	h.publishAndReceive("/users/u/presence", 2, map[string]bool{})
}

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sentinelSource hands out tokens that a test can look for.
type sentinelSource struct{ n atomic.Int64 }

func (s *sentinelSource) Token() (*oauth2.Token, error) {
	s.n.Add(1)
	return &oauth2.Token{AccessToken: "SENTINEL-TOKEN-5f3a", Expiry: time.Now().Add(time.Hour)}, nil
}

// The token never appears in a log record, an event's error or Run's
// error, whatever goes wrong.
func TestTokenNeverInLogsOrErrors(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		var logs lockedBuffer
		var refuse atomic.Bool
		srv := newServer(t, notifytest.Config{HeartbeatInterval: 20 * time.Millisecond,
			Authorize: func(string) bool { return !refuse.Load() }})
		c, err := notify.New(&sentinelSource{}, append(p.options(srv),
			notify.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
			notify.WithBackoff(time.Millisecond, 5*time.Millisecond),
			notify.WithHeartbeatTimeout(60*time.Millisecond))...)
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, p: p, srv: srv, c: c, runErr: make(chan error, 1)}
		go func() { h.runErr <- c.Run(t.Context()) }()
		if err := c.Subscribe(t.Context(), p.topic("v2.users.u.presence")); err != nil {
			t.Fatal(err)
		}
		var texts []string
		await[notify.Connected](h)
		srv.DropAll()
		texts = append(texts, await[notify.Disconnected](h).Err.Error())
		await[notify.Connected](h)
		srv.Stall()
		texts = append(texts, await[notify.Disconnected](h).Err.Error())
		await[notify.Connected](h)
		refuse.Store(true)
		srv.DropAll()
		select {
		case err := <-h.runErr:
			if !errors.Is(err, notify.ErrUnauthorized) {
				t.Fatalf("Run = %v, want ErrUnauthorized", err)
			}
			texts = append(texts, err.Error())
		case <-time.After(waitTimeout):
			t.Fatal("Run did not end")
		}
		for ev := range c.Events() {
			if d, ok := ev.(notify.Disconnected); ok {
				texts = append(texts, d.Err.Error())
			}
		}
		c.Close()
		texts = append(texts, logs.String())
		for _, s := range texts {
			if strings.Contains(s, "SENTINEL-TOKEN") {
				t.Fatalf("token leaked into %q", s)
			}
		}
		if !strings.Contains(logs.String(), "disconnected") {
			t.Fatalf("logs lack the lifecycle records the test relies on:\n%s", logs.String())
		}
	})
}
