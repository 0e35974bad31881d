package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// protocol is one of the two wire protocols, as the shared behaviour
// tests see it.
type protocol struct {
	name string
	// options point a client at srv.
	options func(srv *notifytest.Server) []notify.Option
	// conn is the server's id of the client's newest connection.
	conn func(t *testing.T, srv *notifytest.Server, c notify.Connected) string
	// topic names, in this protocol's grammar, the topic that Genesys
	// calls genesysName ("v2.users.u1.presence").
	topic func(genesysName string) string
}

var (
	genesysProtocol = protocol{
		name:    "genesys",
		options: func(srv *notifytest.Server) []notify.Option { return []notify.Option{notify.WithAPIBaseURL(srv.URL())} },
		conn:    func(_ *testing.T, _ *notifytest.Server, c notify.Connected) string { return c.ChannelID },
		topic:   func(genesysName string) string { return genesysName },
	}
	tokenFrameProtocol = protocol{
		name: "tokenframe",
		options: func(srv *notifytest.Server) []notify.Option {
			return []notify.Option{notify.WithTokenFrameEndpoint(srv.TokenFrameURL())}
		},
		conn: func(t *testing.T, srv *notifytest.Server, _ notify.Connected) string {
			conns := srv.TokenFrameConnections()
			if len(conns) == 0 {
				t.Fatal("no token-frame connection on the server")
			}
			return conns[len(conns)-1].ID
		},
		topic: pathTopic,
	}
)

// pathTopic turns a Genesys topic name into its token-frame path:
// "v2.users.u1.presence" is "/users/u1/presence". Combined topics
// ("?a&b") have no path form.
func pathTopic(genesysName string) string {
	return "/" + strings.ReplaceAll(strings.TrimPrefix(genesysName, "v2."), ".", "/")
}

// forBoth runs a behaviour test against each protocol.
func forBoth(t *testing.T, test func(t *testing.T, p protocol)) {
	for _, p := range []protocol{genesysProtocol, tokenFrameProtocol} {
		t.Run(p.name, func(t *testing.T) { test(t, p) })
	}
}

type harness struct {
	t      *testing.T
	p      protocol
	srv    *notifytest.Server
	c      *notify.Client
	tokens *countingSource
	runErr chan error
	nonce  atomic.Int64
}

// start runs a client of protocol p against srv with short timings.
func start(t *testing.T, p protocol, srv *notifytest.Server, opts ...notify.Option) *harness {
	t.Helper()
	return startSubscribed(t, p, srv, nil, opts...)
}

// startSubscribed is start with topics in the set before Run starts, so
// the first connection carries them.
func startSubscribed(t *testing.T, p protocol, srv *notifytest.Server, topics []string, opts ...notify.Option) *harness {
	t.Helper()
	tokens := &countingSource{}
	h := startWith(t, p, srv, tokens, topics, opts...)
	h.tokens = tokens
	return h
}

// startWith runs a client of protocol p against srv with tokens from ts,
// topics in its set and short timings.
func startWith(t *testing.T, p protocol, srv *notifytest.Server, ts oauth2.TokenSource, topics []string, opts ...notify.Option) *harness {
	t.Helper()
	h := &harness{t: t, p: p, srv: srv, runErr: make(chan error, 1)}
	opts = append(append(p.options(srv),
		notify.WithBackoff(time.Millisecond, 20*time.Millisecond),
		notify.WithHeartbeatTimeout(5*time.Second),
		notify.WithRequestBudget(1<<20),
	), opts...)
	c, err := notify.New(ts, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) > 0 {
		if err := c.Subscribe(t.Context(), topics...); err != nil {
			t.Fatal(err)
		}
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

// await skips events until one of type T arrives and returns it.
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
// Events are told apart by a nonce in their body, which both protocols
// carry.
func (h *harness) publishAndReceive(topic string, n int, seen map[string]bool) {
	h.t.Helper()
	var ids []string
	for range n {
		id := fmt.Sprintf("e%d", h.nonce.Add(1))
		if _, delivered := h.srv.Publish(topic, map[string]string{"nonce": id}); delivered != 1 {
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
		body, err := notify.Decode[struct{ Nonce string }](got)
		if err != nil || got.Topic != topic || body.Nonce != id {
			h.t.Fatalf("event %d: got %s %s (%v), want %s %s", i, got.Topic, got.Body, err, topic, id)
		}
		if seen[id] {
			h.t.Fatalf("event %s delivered twice", id)
		}
		seen[id] = true
	}
}

// checkServerSet asserts that the server holds exactly Topics() on the
// client's connection.
func (h *harness) checkServerSet(c notify.Connected) {
	h.t.Helper()
	got, want := h.srv.Subscriptions(h.p.conn(h.t, h.srv, c)), h.c.Topics()
	if !slices.Equal(got, want) {
		h.t.Fatalf("server set differs from Topics(): %s", setDiff(got, want))
	}
}

func TestConnectSubscribeReceive(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{HeartbeatInterval: 50 * time.Millisecond})
		h := start(t, p, srv)
		topics := []string{p.topic("v2.users.u1.presence"), p.topic("v2.routing.queues.q1.conversations")}
		if err := h.c.Subscribe(t.Context(), topics...); err != nil {
			t.Fatal(err)
		}
		c := await[notify.Connected](h)
		if c.Reconnect || c.Gap || c.ChannelID == "" {
			t.Fatalf("first Connected = %+v", c)
		}
		h.checkServerSet(c)

		body := json.RawMessage(`{"id":"u1","presenceDefinition":{"systemPresence":"Available"}}`)
		id, _ := srv.Publish(topics[0], body)
		n := await[notify.Notification](h)
		if n.Topic != topics[0] || string(n.Body) != string(body) || n.Received.IsZero() {
			t.Fatalf("notification = %+v", n)
		}
		if p.name == "genesys" && (n.CorrelationID != id || n.Version != "2") {
			t.Fatalf("notification = %+v, want CorrelationId %s and version 2", n, id)
		}
		type presence struct {
			PresenceDefinition struct{ SystemPresence string }
		}
		pr, err := notify.Decode[presence](n)
		if err != nil || pr.PresenceDefinition.SystemPresence != "Available" {
			t.Fatalf("Decode = %+v, %v", pr, err)
		}
		h.publishAndReceive(topics[1], 20, map[string]bool{})
	})
}

func TestSubscribeAndUnsubscribeWhileConnected(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		h := start(t, p, srv)
		a, b := p.topic("v2.users.a.presence"), p.topic("v2.users.b.presence")
		if err := h.c.Subscribe(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		c := await[notify.Connected](h)
		if err := h.c.Subscribe(t.Context(), b, p.topic("v2.users.c.presence"), b); err != nil {
			t.Fatal(err)
		}
		h.checkServerSet(c)
		if got := h.c.Topics(); len(got) != 3 {
			t.Fatalf("Topics() = %v", got)
		}
		h.publishAndReceive(b, 3, map[string]bool{})

		if err := h.c.Unsubscribe(t.Context(), a, p.topic("v2.users.unknown.presence")); err != nil {
			t.Fatal(err)
		}
		h.checkServerSet(c)
		if _, delivered := srv.Publish(a, 1); delivered != 0 {
			t.Fatal("unsubscribed topic still delivered")
		}
		for _, bad := range []string{"", p.topic("v2.users.a presence"), p.topic("v2.users.\n")} {
			if err := h.c.Subscribe(t.Context(), bad); !errors.Is(err, notify.ErrInvalidTopic) {
				t.Errorf("Subscribe(%q) = %v, want ErrInvalidTopic", bad, err)
			}
		}

		// Each protocol refuses the other's style and malformed names,
		// naming the topic, and a call with one bad topic changes nothing.
		malformed := map[string][]string{
			"genesys": {
				"v2.users..presence", // notify.UserPresenceTopic("")
				"no-dots-at-all",
				"/users/u1/presence",
				"v2.users.u1?",
				"v2.users.u1?presence&",
			},
			"tokenframe": {
				"v2.users.u1.presence",
				"/users//presence",
				"users/u1",
			},
		}[p.name]
		if len(malformed) == 0 {
			t.Fatalf("no malformed topics for protocol %s", p.name)
		}
		before := h.c.Topics()
		for _, bad := range malformed {
			if err := h.c.Subscribe(t.Context(), p.topic("v2.users.d.presence"), bad); !errors.Is(err, notify.ErrInvalidTopic) || !strings.Contains(err.Error(), bad) {
				t.Errorf("Subscribe(%q) = %v, want ErrInvalidTopic naming the topic", bad, err)
			}
			if err := h.c.Unsubscribe(t.Context(), b, bad); !errors.Is(err, notify.ErrInvalidTopic) || !strings.Contains(err.Error(), bad) {
				t.Errorf("Unsubscribe(%q) = %v, want ErrInvalidTopic naming the topic", bad, err)
			}
		}
		if got := h.c.Topics(); !slices.Equal(got, before) {
			t.Fatalf("Topics() = %v after refused calls, want %v", got, before)
		}
		h.checkServerSet(c)

		if stats := srv.Stats(); stats.DuplicateSubscribes != 0 {
			t.Fatalf("%d duplicate subscriptions", stats.DuplicateSubscribes)
		}
	})
}

func TestRejectedTopicsAreReportedAndRemoved(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{
			Permit: func(topic string) (bool, string, []string) {
				if strings.Contains(topic, "adherence") {
					return false, "missing permission", []string{"wfm:agentAdherence:notify"}
				}
				return true, "", nil
			},
		})
		h := start(t, p, srv)
		// Applied at once if the client is connected already, else with
		// the replay: the verdict is an error or an event, and always an event.
		err := h.c.Subscribe(t.Context(), p.topic("v2.users.a.presence"), p.topic("v2.users.a.workforcemanagement.adherence"))
		if err != nil && !errors.Is(err, notify.ErrRejected) {
			t.Fatal(err)
		}
		var r notify.Rejected
		var c notify.Connected
		for r.Topic == "" || c.ChannelID == "" {
			switch ev := h.next().(type) {
			case notify.Rejected:
				r = ev
			case notify.Connected:
				c = ev
			default:
				t.Fatalf("unexpected %T %+v", ev, ev)
			}
		}
		if r.Topic != p.topic("v2.users.a.workforcemanagement.adherence") || r.Reason == "" {
			t.Fatalf("Rejected = %+v", r)
		}
		if p.name == "genesys" && !slices.Equal(r.MissingPermissions, []string{"wfm:agentAdherence:notify"}) {
			t.Fatalf("Rejected = %+v, want the missing permission", r)
		}
		h.checkServerSet(c)

		refused := p.topic("v2.users.b.workforcemanagement.adherence")
		err = h.c.Subscribe(t.Context(), refused, p.topic("v2.users.b.presence"))
		if !errors.Is(err, notify.ErrRejected) || !strings.Contains(err.Error(), refused) {
			t.Fatalf("Subscribe = %v, want ErrRejected naming the topic", err)
		}
		if r := await[notify.Rejected](h); r.Topic != refused {
			t.Fatalf("Rejected = %+v", r)
		}
		h.checkServerSet(c)
		if want := []string{p.topic("v2.users.a.presence"), p.topic("v2.users.b.presence")}; !slices.Equal(h.c.Topics(), want) {
			t.Fatalf("Topics() = %v, want %v", h.c.Topics(), want)
		}
	})
}

// After each of many abrupt drops and closes the server's set equals
// Topics(), the gap is reported, and events published after Connected
// arrive once.
func TestRecoversFromRepeatedFaults(t *testing.T) {
	faults := map[string]func(*notifytest.Server){
		"drop":      (*notifytest.Server).DropAll,
		"close1001": func(s *notifytest.Server) { s.CloseAll(websocket.StatusGoingAway, "idle timeout") },
		"close1011": func(s *notifytest.Server) { s.CloseAll(websocket.StatusInternalError, "oops") },
		"close4000": func(s *notifytest.Server) { s.CloseAll(4000, "bye") },
	}
	forBoth(t, func(t *testing.T, p protocol) {
		for name, fault := range faults {
			t.Run(name, func(t *testing.T) {
				srv := newServer(t, notifytest.Config{})
				h := start(t, p, srv)
				topic := p.topic("v2.users.u.presence")
				if err := h.c.Subscribe(t.Context(), topic, p.topic("v2.users.v.presence")); err != nil {
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
					h.checkServerSet(c)
					h.publishAndReceive(topic, 5, seen)
					if round%5 == 0 {
						extra := p.topic(fmt.Sprintf("v2.users.r%d.presence", round))
						if err := h.c.Subscribe(t.Context(), extra); err != nil {
							t.Fatal(err)
						}
					}
				}
				if got := srv.Stats().ChannelsCreated; p.name == "genesys" && got != 1 {
					t.Fatalf("%d channels created, want 1", got)
				}
				if got := srv.Stats().DuplicateSubscribes; got != 0 {
					t.Fatalf("%d duplicate subscriptions", got)
				}
			})
		}
	})
}

func TestStalledSocketIsReplaced(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		const hb = 200 * time.Millisecond
		srv := newServer(t, notifytest.Config{HeartbeatInterval: 30 * time.Millisecond})
		h := start(t, p, srv, notify.WithHeartbeatTimeout(hb))
		topic := p.topic("v2.users.u.presence")
		if err := h.c.Subscribe(t.Context(), topic); err != nil {
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
		h.checkServerSet(c)
		h.publishAndReceive(topic, 3, map[string]bool{})
	})
}

func TestPingKeepsAQuietSocket(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		// No heartbeats from the server: only the client's pings and their
		// pongs keep the socket alive, so it must not be replaced.
		const hb = 100 * time.Millisecond
		srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
		h := start(t, p, srv, notify.WithHeartbeatTimeout(hb))
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
	})
}

func TestGarbageFrameIsSkipped(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		h := start(t, p, srv)
		topic := p.topic("v2.users.u.presence")
		if err := h.c.Subscribe(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
		id := p.conn(t, srv, await[notify.Connected](h))
		bad := topic[:len(topic)-2] + "\xff\xfe" // not UTF-8: never delivered, though its JSON is sound
		for _, g := range []string{`not json`, `{"topicName":`, `{"eventBody":{}}`, `[]`, `{"topicName":7}`, `{"event":""}`,
			`{"topicName":"` + bad + `","eventBody":{}}`, `{"event":"` + bad + `","data":{}}`} {
			srv.SendRaw(id, []byte(g))
		}
		h.publishAndReceive(topic, 3, map[string]bool{})
	})
}

func TestOversizedFrameReconnects(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		h := start(t, p, srv, notify.WithReadLimit(4096))
		topic := p.topic("v2.users.u.presence")
		if err := h.c.Subscribe(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
		await[notify.Connected](h)
		srv.Publish(topic, map[string]string{"big": strings.Repeat("x", 8192)})
		if d := await[notify.Disconnected](h); d.Err == nil {
			t.Fatal("oversized frame: Disconnected without error")
		}
		await[notify.Connected](h)
		h.publishAndReceive(topic, 2, map[string]bool{})
	})
}

func TestSlowConsumerGetsDroppedCount(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
		h := start(t, p, srv, notify.WithEventBuffer(4))
		topic := p.topic("v2.users.u.presence")
		if err := h.c.Subscribe(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
		await[notify.Connected](h)
		const n = 200
		for i := range n {
			srv.Publish(topic, i)
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
	})
}

func TestUnauthorizedOnceFetchesFreshToken(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{Authorize: func(tok string) bool { return tok != "token-1" }})
		h := start(t, p, srv)
		if c := await[notify.Connected](h); c.Reconnect {
			t.Fatalf("Connected = %+v", c)
		}
		if got := h.tokens.n.Load(); got != 2 {
			t.Fatalf("%d tokens fetched, want 2 (the refused one and a fresh one)", got)
		}
	})
}

func TestUnauthorizedTwiceEndsRun(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{Authorize: func(string) bool { return false }})
		h := start(t, p, srv)
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
		if got := h.tokens.n.Load(); got != 2 {
			t.Fatalf("%d tokens fetched, want 2", got)
		}
		for range h.c.Events() {
		}
	})
}

func TestImmediateDropsAreNotHammered(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		h := start(t, p, srv, notify.WithBackoff(10*time.Millisecond, 10*time.Second))
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
	})
}

func TestCloseDuringBackoffIsPrompt(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		h := start(t, p, srv, notify.WithBackoff(time.Hour, time.Hour))
		await[notify.Connected](h)
		srv.DropAll()
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
		if err := h.c.Subscribe(t.Context(), p.topic("v2.users.u.presence")); !errors.Is(err, notify.ErrClosed) {
			t.Fatalf("Subscribe after Close = %v", err)
		}
	})
}

func TestContextEndsRun(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		c, err := notify.New(&countingSource{}, p.options(srv)...)
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
	})
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

// setDiff describes how two sorted sets differ, briefly.
func setDiff(got, want []string) string {
	var extra, missing []string
	for _, t := range got {
		if _, ok := slices.BinarySearch(want, t); !ok {
			extra = append(extra, t)
		}
	}
	for _, t := range want {
		if _, ok := slices.BinarySearch(got, t); !ok {
			missing = append(missing, t)
		}
	}
	return fmt.Sprintf("%d vs %d topics; %d extra %v; %d missing %v",
		len(got), len(want), len(extra), extra[:min(len(extra), 3)], len(missing), missing[:min(len(missing), 3)])
}

// countingTransport counts the requests of an http.Client by method and path.
type countingTransport struct {
	mu   sync.Mutex
	seen []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen = append(c.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Upgrade"))
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// The caller's HTTP client carries the WebSocket handshake too, so its TLS
// settings and proxy apply to the socket, not only to REST.
func TestHTTPClientCarriesTheSocketToo(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{})
		rt := &countingTransport{}
		h := start(t, p, srv, notify.WithHTTPClient(&http.Client{Transport: rt}))
		await[notify.Connected](h)
		rt.mu.Lock()
		defer rt.mu.Unlock()
		if !slices.ContainsFunc(rt.seen, func(s string) bool { return strings.HasSuffix(s, " websocket") }) {
			t.Fatalf("the handshake did not go through the caller's client: %q", rt.seen)
		}
	})
}
