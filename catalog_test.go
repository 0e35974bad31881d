package notify_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/notifytest"
)

const catalogPath = "/api/v2/notifications/availabletopics"

// catalogTransport records the REST requests of a client with the fake
// time they were made at, tells of every catalog read that got its answer,
// and holds catalog reads while hold is set.
type catalogTransport struct {
	clk   clock.Clock
	sent  chan struct{} // a catalog read was sent
	reads chan struct{} // a catalog read got its answer
	hold  chan struct{} // if not nil, catalog reads wait for it to close

	mu   sync.Mutex
	reqs []restCall
}

type restCall struct {
	method, path string
	at           time.Time
}

func newCatalogTransport(clk clock.Clock) *catalogTransport {
	return &catalogTransport{clk: clk, sent: make(chan struct{}, 16), reads: make(chan struct{}, 16)}
}

func (c *catalogTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, restCall{r.Method, r.URL.Path, c.clk.Now()})
	hold := c.hold
	c.mu.Unlock()
	if r.URL.Path != catalogPath {
		return http.DefaultTransport.RoundTrip(r)
	}
	c.sent <- struct{}{}
	if hold != nil {
		select {
		case <-hold:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.reads <- struct{}{}
	return resp, err
}

// first returns the first request to path.
func (c *catalogTransport) first(t *testing.T, method, path string) restCall {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.reqs, func(r restCall) bool { return r.method == method && r.path == path })
	if i < 0 {
		t.Fatalf("no %s %s among %v", method, path, c.reqs)
	}
	return c.reqs[i]
}

// awaitRead waits for the next catalog read to get its answer.
func (c *catalogTransport) awaitRead(t *testing.T) {
	t.Helper()
	select {
	case <-c.reads:
	case <-time.After(waitTimeout):
		t.Fatal("the topic catalog was not read")
	}
}

// logged is a slog.Handler that passes on the level and message of every
// record about the topic catalog.
type logged chan string

func (l logged) Enabled(context.Context, slog.Level) bool { return true }
func (l logged) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l logged) WithGroup(string) slog.Handler            { return l }
func (l logged) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "topic catalog") {
		l <- r.Level.String() + " " + r.Message
	}
	return nil
}

// await waits for a record whose level and message start with prefix.
func (l logged) await(t *testing.T, prefix string) {
	t.Helper()
	for {
		select {
		case msg := <-l:
			if strings.HasPrefix(msg, prefix) {
				return
			}
		case <-time.After(waitTimeout):
			t.Fatalf("nothing logged as %q", prefix)
		}
	}
}

// startCatalog runs a client with WithTopicCatalog on the fake clock clk,
// its requests through tr, with topics in its set before Run.
func startCatalog(t *testing.T, srv *notifytest.Server, clk *clock.Fake, tr *catalogTransport, topics []string, opts ...notify.Option) *harness {
	t.Helper()
	opts = append([]notify.Option{notify.WithTopicCatalog(), notify.WithClock(clk),
		notify.WithHTTPClient(&http.Client{Transport: tr})}, opts...)
	return startSubscribed(t, genesysProtocol, srv, topics, opts...)
}

// checkInvalid checks that err is ErrInvalidTopic and says each of want.
func checkInvalid(t *testing.T, err error, want ...string) {
	t.Helper()
	if !errors.Is(err, notify.ErrInvalidTopic) {
		t.Fatalf("err = %v, want ErrInvalidTopic", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %q, want it to say %q", err, w)
		}
	}
}

// A topic the catalog does not list is refused before anything is sent,
// with the nearest template; so are placeholders copied from the docs.
func TestTopicCatalogRefusesUnknownTopics(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	tr := newCatalogTransport(clk)
	h := startCatalog(t, srv, clk, tr, []string{"v2.users.u1.presence"})
	c := await[notify.Connected](h)
	calls := srv.Stats().SubscriptionCalls

	for topic, want := range map[string][]string{
		"v2.users.u1.presense":       {`"v2.users.u1.presense"`, "did you mean v2.users.{id}.presence?"},
		"v2.users.u2.routingstatus":  {"did you mean v2.users.{id}.routingStatus?"},
		"v2.nonsense":                {"not in the server's topic catalog"},
		"v2.users.{userId}.presence": {"{userId} is a placeholder"},
		"v2.users.{id}.presence":     {"{id} is a placeholder"},
	} {
		checkInvalid(t, h.c.Subscribe(t.Context(), topic), want...)
	}
	if got := h.c.Topics(); !slices.Equal(got, []string{"v2.users.u1.presence"}) {
		t.Errorf("Topics() = %v", got)
	}
	if n := srv.Stats().SubscriptionCalls; n != calls {
		t.Errorf("%d subscription requests for refused topics", n-calls)
	}
	h.checkServerSet(c)
}

// A topic whose template the server delivers over EventBridge only is
// refused: a channel cannot carry it.
func TestTopicCatalogRefusesEventBridgeOnlyTopics(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	h := startCatalog(t, srv, clk, newCatalogTransport(clk), nil)
	await[notify.Connected](h)
	err := h.c.Subscribe(t.Context(), "v2.audits.entitytype.User.entityid.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f")
	checkInvalid(t, err, "v2.audits.entitytype.{id}.entityid.{id}", "EventBridge only")
}

// Each part of a combined topic is checked; two-parameter templates match.
func TestTopicCatalogCombinedAndTwoParameterTopics(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	h := startCatalog(t, srv, clk, newCatalogTransport(clk), nil)
	c := await[notify.Connected](h)

	checkInvalid(t, h.c.Subscribe(t.Context(), "v2.users.u1?presence&routingstatus"),
		`"v2.users.u1?presence&routingstatus": v2.users.u1.routingstatus: not in`, "did you mean v2.users.{id}.routingStatus?")
	checkInvalid(t, h.c.Subscribe(t.Context(), "v2.users.u1.outbound.contactlist.cl-1.export"),
		"did you mean v2.users.{id}.outbound.contactlists.{id}.export?")
	good := []string{"v2.users.u1?presence&routingStatus", "v2.users.u1.outbound.contactlists.cl-1.export"}
	if err := h.c.Subscribe(t.Context(), good...); err != nil {
		t.Fatal(err)
	}
	want := []string{"v2.users.u1.outbound.contactlists.cl-1.export", "v2.users.u1.presence", "v2.users.u1.routingStatus"}
	if got := srv.Subscriptions(c.ChannelID); !slices.Equal(got, want) {
		t.Fatalf("server holds %v, want %v", got, want)
	}
}

// Topics subscribed before Run are checked when the catalog arrives:
// those it refuses leave the set, reported as Rejected, and the server
// never sees them.
func TestTopicCatalogChecksTheSetBeforeSubscribingIt(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	h := startCatalog(t, srv, clk, newCatalogTransport(clk), []string{"v2.users.u1.presense", "v2.users.u1.presence"})
	r, ok := h.next().(notify.Rejected)
	if !ok || r.Topic != "v2.users.u1.presense" || !strings.Contains(r.Reason, "did you mean v2.users.{id}.presence?") {
		t.Fatalf("first event %T %+v, want the typo Rejected", r, r)
	}
	c := await[notify.Connected](h)
	if !slices.Equal(c.Topics, []string{"v2.users.u1.presence"}) {
		t.Fatalf("Connected.Topics = %v", c.Topics)
	}
	if n := srv.Stats().SubscriptionCalls; n != 1 {
		t.Fatalf("%d subscription requests, want the one of the checked set", n)
	}
}

// A Subscribe made while Run's first read is under way waits for it.
func TestTopicCatalogSubscribeWaitsForTheFirstRead(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	tr := newCatalogTransport(clk)
	release := make(chan struct{})
	tr.hold = release
	h := startCatalog(t, srv, clk, tr, nil)
	<-tr.sent

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.c.Subscribe(ctx, "v2.users.u1.presence"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Subscribe with an ended context = %v", err)
	}
	result := make(chan error, 1)
	go func() { result <- h.c.Subscribe(t.Context(), "v2.users.u1.presense") }()
	close(release)
	checkInvalid(t, <-result, "did you mean v2.users.{id}.presence?")
}

// The catalog is read again after 24 hours of the client's clock.
func TestTopicCatalogIsReadAgainAfter24Hours(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	tr := newCatalogTransport(clk)
	h := startCatalog(t, srv, clk, tr, []string{"v2.users.u1.presence"}, notify.WithHeartbeatTimeout(48*time.Hour))
	tr.awaitRead(t)
	await[notify.Connected](h)
	start := clk.Now()
	clk.Advance(24 * time.Hour)
	tr.awaitRead(t)
	if n := srv.Stats().TopicCatalogReads; n != 2 {
		t.Fatalf("%d catalog reads, want 2", n)
	}
	tr.mu.Lock()
	at := tr.reqs[len(tr.reqs)-1].at
	tr.mu.Unlock()
	if at.Sub(start) < 24*time.Hour {
		t.Fatalf("read again after %v", at.Sub(start))
	}
}

// A catalog that cannot be read is logged and checks nothing: the server
// has the last word. It is read again an hour later, and then checks.
func TestTopicCatalogUnreadableChecksNothing(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	srv.FailNextOn(catalogPath, 1, http.StatusServiceUnavailable, 0)
	tr := newCatalogTransport(clk)
	logs := make(logged, 16)
	h := startCatalog(t, srv, clk, tr, nil, notify.WithLogger(slog.New(logs)))
	logs.await(t, "WARN notify: cannot read the topic catalog")
	await[notify.Connected](h)

	err := h.c.Subscribe(t.Context(), "v2.users.u1.presense")
	if errors.Is(err, notify.ErrInvalidTopic) || !errors.Is(err, notify.ErrRejected) {
		t.Fatalf("Subscribe = %v, want the server's refusal", err)
	}
	clk.Advance(time.Hour)
	logs.await(t, "DEBUG notify: topic catalog read")
	checkInvalid(t, h.c.Subscribe(t.Context(), "v2.users.u1.presense"), "did you mean")
}

// The catalog read is one of the client's REST calls: with a budget of
// one call a minute, the channel is created a minute after it.
func TestTopicCatalogReadCountsInTheBudget(t *testing.T) {
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{})
	tr := newCatalogTransport(clk)
	h := startCatalog(t, srv, clk, tr, []string{"v2.users.u1.presence"}, notify.WithRequestBudget(1))
	for connected := false; !connected; {
		select {
		case ev := <-h.c.Events():
			_, connected = ev.(notify.Connected)
		case <-time.After(time.Millisecond):
			clk.Advance(time.Second)
		}
	}
	read := tr.first(t, http.MethodGet, catalogPath)
	created := tr.first(t, http.MethodPost, "/api/v2/notifications/channels")
	if d := created.at.Sub(read.at); d < time.Minute {
		t.Fatalf("channel created %v after the catalog read, within the same minute of a one-call budget", d)
	}
}

// The token-frame protocol has no catalog: the option does nothing there.
func TestTopicCatalogIgnoredOnTokenFrame(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	tr := newCatalogTransport(clock.Real)
	h := startSubscribed(t, tokenFrameProtocol, srv, []string{"/users/u1/presense"},
		notify.WithTopicCatalog(), notify.WithHTTPClient(&http.Client{Transport: tr}))
	c := await[notify.Connected](h)
	if !slices.Equal(c.Topics, []string{"/users/u1/presense"}) {
		t.Fatalf("Connected.Topics = %v", c.Topics)
	}
	if len(tr.sent) != 0 {
		t.Fatal("the topic catalog was read")
	}
}

func ExampleTopicTemplate() {
	for _, topic := range []string{
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence",
		"v2.routing.queues.fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d.conversations.calls",
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.outbound.contactlists.0b5c2f1e-3a4d-4e6f-8a9b-1c2d3e4f5a6b.export",
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f?presence&routingStatus",
		"/users/42/presence",
	} {
		fmt.Println(notify.TopicTemplate(topic))
	}
	// Output:
	// v2.users.{id}.presence
	// v2.routing.queues.{id}.conversations.calls
	// v2.users.{id}.outbound.contactlists.{id}.export
	// v2.users.{id}?presence&routingStatus
	// /users/{id}/presence
}
