package genesys_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	notify "github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/genesys"
	"github.com/gcnotify/notify/internal/wire"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestSnapshotKind(t *testing.T) {
	const (
		p = genesys.PresenceReader
		r = genesys.RoutingStatusReader
		o = genesys.ObservationsReader
	)
	for _, c := range []struct {
		topic string
		r     genesys.Reader
		id    string
	}{
		{"v2.users.3b5e.presence", p, "3b5e"},
		{"v2.users.3b5e.routingStatus", r, "3b5e"},
		{"v2.analytics.queues.fd17.observations", o, "fd17"},
		{"v2.users.3b5e?presence&routingStatus", p | r, "3b5e"},
		{"v2.users.3b5e?routingStatus&station&presence", p | r, "3b5e"},
		{"v2.users.3b5e?station&routingStatus", r, "3b5e"},
		{"v2.analytics.queues.fd17?observations", o, "fd17"},
	} {
		got, id, ok := genesys.SnapshotKind(c.topic)
		if !ok || got != c.r || id != c.id {
			t.Errorf("SnapshotKind(%q) = %v, %q, %v; want %v, %q", c.topic, got, id, ok, c.r, c.id)
		}
	}
	for _, topic := range []string{
		"v2.users.3b5e.conversations",
		"v2.users.3b5e.routingstatus", // case matters
		"v2.users..presence",
		"v2.users.a.b.presence",
		"v2.users.presence",
		"v2.routing.queues.fd17.conversations",
		"v2.analytics.queues.fd17.presence",
		"v2.users.fd17.observations",
		"v2.users.3b5e?station&conversations",
		"v2.users.?presence",
		"v2.users.a.b?presence",
		"v2.detail.events.conversation.c.acw",
		"channel.metadata",
		"",
	} {
		if got, id, ok := genesys.SnapshotKind(topic); ok {
			t.Errorf("SnapshotKind(%q) = %v, %q, true; want false", topic, got, id)
		}
	}
}

func TestReaderMethods(t *testing.T) {
	both := genesys.PresenceReader | genesys.RoutingStatusReader
	if got := both.Topics("u1"); !slices.Equal(got, []string{"v2.users.u1.presence", "v2.users.u1.routingStatus"}) {
		t.Errorf("Topics = %q", got)
	}
	if got := genesys.ObservationsReader.Topics("q1"); !slices.Equal(got, []string{"v2.analytics.queues.q1.observations"}) {
		t.Errorf("Topics = %q", got)
	}
	// Every topic named by Topics maps back to its reader.
	for _, one := range []genesys.Reader{genesys.PresenceReader, genesys.RoutingStatusReader, genesys.ObservationsReader} {
		for _, topic := range one.Topics("x") {
			if r, id, ok := genesys.SnapshotKind(topic); !ok || r != one || id != "x" {
				t.Errorf("SnapshotKind(%q) = %v, %q, %v", topic, r, id, ok)
			}
		}
	}
	if !both.Has(genesys.PresenceReader) || both.Has(genesys.ObservationsReader) || both.Has(0) {
		t.Error("Has is wrong")
	}
	if got := both.Split(); !slices.Equal(got, []genesys.Reader{genesys.PresenceReader, genesys.RoutingStatusReader}) {
		t.Errorf("Split = %v", got)
	}
	for r, want := range map[genesys.Reader]int{
		genesys.PresenceReader:      50,
		genesys.RoutingStatusReader: 100,
		genesys.ObservationsReader:  100,
		both:                        0,
		0:                           0,
	} {
		if got := r.Limit(); got != want {
			t.Errorf("%v.Limit() = %d, want %d", r, got, want)
		}
	}
	for r, want := range map[genesys.Reader]string{
		both:                          "presence|routingStatus",
		genesys.ObservationsReader:    "observations",
		0:                             "Reader(0)",
		0x80 | genesys.PresenceReader: "presence|Reader(129)",
	} {
		if got := r.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

// server is a fake REST API that answers every request with one canned
// answer and records what it was asked.
type server struct {
	*httptest.Server
	status int
	header http.Header
	answer string

	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
}

func newServer(t *testing.T, status int, answer string) *server {
	s := &server{status: status, answer: answer, header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.requests = append(s.requests, r)
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		for k, v := range s.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		io.WriteString(w, s.answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) api() *genesys.API {
	return &genesys.API{Base: s.URL, HTTP: s.Client(), Tokens: &staticTokens{tok: "tok"}, Budget: unlimited{}, Clock: clock.Real}
}

// staticTokens always gives the same token, or err.
type staticTokens struct {
	tok string
	err error
}

func (s *staticTokens) Token(time.Duration) (*oauth2.Token, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &oauth2.Token{AccessToken: s.tok}, nil
}

func (s *staticTokens) Invalidate() {}

// unlimited is a budget that never waits.
type unlimited struct{}

func (unlimited) Wait(ctx context.Context) error { return ctx.Err() }
func (unlimited) Pause(time.Duration)            {}

// only returns the one request the server got.
func (s *server) only(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) != 1 {
		t.Fatalf("%d requests, want 1", len(s.requests))
	}
	r := s.requests[0]
	if got := r.Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q", got)
	}
	return r, s.bodies[0]
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

func decode[T any](t *testing.T, body json.RawMessage) T {
	t.Helper()
	v, err := notify.Decode[T](notify.Notification{Topic: "snapshot", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReadPresence(t *testing.T) {
	s := newServer(t, 200, `[
	 {"id":"u1","userId":"u1","source":"PURECLOUD","presenceDefinition":{"id":"e08e","systemPresence":"On Queue"},
	  "message":"at lunch soon","modifiedDate":"2025-03-04T09:12:31.604Z","selfUri":"/api/v2/users/u1/presences/purecloud"},
	 {"userId":"u3","source":"PURECLOUD","presenceDefinition":{"id":"a1","systemPresence":"Available"},"modifiedDate":"2025-03-04T08:00:00Z"},
	 {"userId":"stranger","presenceDefinition":{"systemPresence":"Busy"}},
	 {"presenceDefinition":{"systemPresence":"Busy"}}
	]`)
	got, err := s.api().ReadState(context.Background(), genesys.PresenceReader, []string{"u1", "u2", "u3", "u1"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.only(t)
	if r.Method != http.MethodGet || r.URL.Path != "/api/v2/users/presences/purecloud/bulk" {
		t.Errorf("request %s %s", r.Method, r.URL.Path)
	}
	if ids := r.URL.Query()["id"]; !slices.Equal(ids, []string{"u1", "u2", "u3"}) {
		t.Errorf("id parameters %q, want each id once, repeated", ids)
	}
	if len(got.Bodies) != 2 || !slices.Equal(got.Missing, []string{"u2"}) {
		t.Fatalf("ReadState = %d bodies, missing %q", len(got.Bodies), got.Missing)
	}
	p := decode[notify.UserPresence](t, got.Bodies["u1"])
	if p.Source != "PURECLOUD" || p.PresenceDefinition.SystemPresence != "On Queue" || p.PresenceDefinition.ID != "e08e" ||
		p.Message != "at lunch soon" || !p.ModifiedDate.Equal(time.Date(2025, 3, 4, 9, 12, 31, 604e6, time.UTC)) {
		t.Errorf("u1 = %+v", p)
	}
	if p := decode[notify.UserPresence](t, got.Bodies["u3"]); p.PresenceDefinition.SystemPresence != "Available" {
		t.Errorf("u3 = %+v", p)
	}
}

func TestReadRoutingStatus(t *testing.T) {
	s := newServer(t, 200, `{"entities":[
	 {"id":"u1","name":"Ann","state":"active","routingStatus":{"userId":"u1","status":"INTERACTING","startTime":"2025-03-04T09:12:40.118Z"}},
	 {"id":"u2","name":"Bob"},
	 {"id":"u3","name":"Cy","routingStatus":null},
	 {"id":"stranger","routingStatus":{"status":"IDLE"}}
	],"pageSize":100,"pageNumber":1,"total":4}`)
	got, err := s.api().ReadState(context.Background(), genesys.RoutingStatusReader, []string{"u1", "u2", "u3", "u4"})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.only(t)
	q := r.URL.Query()
	if r.Method != http.MethodGet || r.URL.Path != "/api/v2/users" ||
		!slices.Equal(q["id"], []string{"u1", "u2", "u3", "u4"}) || q.Get("expand") != "routingStatus" || q.Get("pageSize") != "100" {
		t.Errorf("request %s %s", r.Method, r.URL)
	}
	if len(got.Bodies) != 1 || !slices.Equal(got.Missing, []string{"u2", "u3", "u4"}) {
		t.Fatalf("ReadState = %d bodies, missing %q", len(got.Bodies), got.Missing)
	}
	rs := decode[notify.UserRoutingStatus](t, got.Bodies["u1"])
	if rs.ID != "u1" || rs.RoutingStatus.Status != "INTERACTING" ||
		!rs.RoutingStatus.StartTime.Equal(time.Date(2025, 3, 4, 9, 12, 40, 118e6, time.UTC)) {
		t.Errorf("u1 = %+v", rs)
	}
	// Only the notification's members: no name, state or other user fields.
	var members map[string]json.RawMessage
	if err := json.Unmarshal(got.Bodies["u1"], &members); err != nil || len(members) != 2 {
		t.Errorf("body %s: want only id and routingStatus", got.Bodies["u1"])
	}
}

func TestReadObservations(t *testing.T) {
	// Queue fd17… answers with two groups (the shared test file: voice
	// conversations and agents); queue q2 with one; q3 not at all.
	file, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bodies", "queue_observation_query.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Results []json.RawMessage }
	if err := json.Unmarshal(file, &resp); err != nil {
		t.Fatal(err)
	}
	resp.Results = append(resp.Results,
		json.RawMessage(`{"group":{"queueId":"q2","mediaType":"chat"},"data":[{"metric":"oWaiting","stats":{"count":1}},{}]}`),
		json.RawMessage(`{"group":{"queueId":"stranger"},"data":[{"metric":"oWaiting","stats":{"count":9}}]}`),
		json.RawMessage(`{"data":[{"metric":"oWaiting","stats":{"count":9}}]}`))
	answer, _ := json.Marshal(resp)
	s := newServer(t, 200, string(answer))
	const q1 = "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b"
	got, err := s.api().ReadState(context.Background(), genesys.ObservationsReader, []string{q1, "q2", "q3"})
	if err != nil {
		t.Fatal(err)
	}

	r, body := s.only(t)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/analytics/queues/observations/query" ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s (%s)", r.Method, r.URL, r.Header.Get("Content-Type"))
	}
	var query struct {
		Filter struct {
			Type       string
			Predicates []struct{ Dimension, Value string }
		}
		Metrics []string
	}
	if err := json.Unmarshal(body, &query); err != nil {
		t.Fatalf("query %s: %v", body, err)
	}
	if query.Filter.Type != "or" || len(query.Filter.Predicates) != 3 {
		t.Errorf("filter %+v", query.Filter)
	}
	for i, id := range []string{q1, "q2", "q3"} {
		if p := query.Filter.Predicates[i]; p.Dimension != "queueId" || p.Value != id {
			t.Errorf("predicate %d = %+v", i, p)
		}
	}
	for _, m := range []string{"oWaiting", "oInteracting", "oAlerting", "oOnQueueUsers"} {
		if !slices.Contains(query.Metrics, m) {
			t.Errorf("metrics %q lack %s", query.Metrics, m)
		}
	}

	if len(got.Bodies) != 2 || !slices.Equal(got.Missing, []string{"q3"}) {
		t.Fatalf("ReadState = %d bodies, missing %q", len(got.Bodies), got.Missing)
	}
	o := decode[notify.QueueObservation](t, got.Bodies[q1])
	if o.Group.QueueID != q1 || o.Group.MediaType != "" {
		t.Errorf("group = %+v", o.Group)
	}
	for metric, want := range map[string]int{"oWaiting": 3, "oInteracting": 5, "oOnQueueUsers": 7} {
		if n, ok := o.Count(metric); !ok || n != want {
			t.Errorf("Count(%s) = %d, %v; want %d", metric, n, ok, want)
		}
	}
	// Each entry keeps its result group.
	var raw struct {
		Data []struct {
			Group     struct{ QueueID, MediaType string }
			Metric    string
			Qualifier string
		}
	}
	if err := json.Unmarshal(got.Bodies[q1], &raw); err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, d := range raw.Data {
		entries = append(entries, fmt.Sprintf("%s/%s/%s/%s", d.Group.QueueID[:4], d.Group.MediaType, d.Metric, d.Qualifier))
	}
	want := []string{"fd17/voice/oWaiting/", "fd17/voice/oInteracting/", "fd17//oOnQueueUsers/IDLE", "fd17//oOnQueueUsers/INTERACTING"}
	if !slices.Equal(entries, want) {
		t.Errorf("entries %q, want %q", entries, want)
	}
	o2 := decode[notify.QueueObservation](t, got.Bodies["q2"])
	if n, ok := o2.Count("oWaiting"); !ok || n != 1 || len(o2.Data) != 1 {
		t.Errorf("q2 = %+v", o2)
	}
}

func TestReadStateLimits(t *testing.T) {
	s := newServer(t, 200, `[]`)
	api := s.api()
	ctx := context.Background()
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("id%d", i)
		}
		return out
	}
	for r, limit := range map[genesys.Reader]int{
		genesys.PresenceReader:      genesys.MaxPresenceIDs,
		genesys.RoutingStatusReader: genesys.MaxRoutingStatusIDs,
		genesys.ObservationsReader:  genesys.MaxObservationQueues,
	} {
		if _, err := api.ReadState(ctx, r, ids(limit+1)); !errors.Is(err, genesys.ErrTooManyIDs) {
			t.Errorf("%v with %d ids: %v, want ErrTooManyIDs", r, limit+1, err)
		}
	}
	if n := s.count(); n != 0 {
		t.Fatalf("%d requests sent for refused reads", n)
	}
	// Duplicates do not count against the limit.
	dup := append(ids(genesys.MaxPresenceIDs), ids(10)...)
	got, err := api.ReadState(ctx, genesys.PresenceReader, dup)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.only(t)
	if n := len(r.URL.Query()["id"]); n != genesys.MaxPresenceIDs {
		t.Errorf("%d ids sent, want %d", n, genesys.MaxPresenceIDs)
	}
	if len(got.Missing) != genesys.MaxPresenceIDs {
		t.Errorf("%d missing, want all %d", len(got.Missing), genesys.MaxPresenceIDs)
	}
	// No ids: no request.
	if got, err := api.ReadState(ctx, genesys.RoutingStatusReader, nil); err != nil || len(got.Bodies) != 0 || len(got.Missing) != 0 {
		t.Errorf("ReadState(nil) = %+v, %v", got, err)
	}
	if n := s.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	for _, r := range []genesys.Reader{0, genesys.PresenceReader | genesys.ObservationsReader} {
		if _, err := api.ReadState(ctx, r, []string{"a"}); err == nil {
			t.Errorf("ReadState with %v succeeded", r)
		}
	}
}

func TestReadStateErrors(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, 429, `{"message":"Rate limit exceeded","code":"too.many.requests.retry.after","status":429}`)
	s.header.Set("Retry-After", "3")
	_, err := s.api().ReadState(ctx, genesys.PresenceReader, []string{"u1"})
	var e *wire.HTTPError
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != 3*time.Second || e.Code != "too.many.requests.retry.after" {
		t.Fatalf("429: %v (%+v)", err, e)
	}

	s = newServer(t, 403, `{"message":"Missing analytics:queueObservation:view","code":"missing.permissions","status":403}`)
	_, err = s.api().ReadState(ctx, genesys.ObservationsReader, []string{"q1"})
	if !errors.As(err, &e) || e.Status != 403 || e.Code != "missing.permissions" {
		t.Fatalf("403: %v", err)
	}

	for r, answer := range map[genesys.Reader]string{
		genesys.PresenceReader:      `{"entities":[]}`,
		genesys.RoutingStatusReader: `[]`,
		genesys.ObservationsReader:  `{"results":[{"group":{"queueId":"q1"},"data":["oWaiting"]}]}`,
	} {
		s := newServer(t, 200, answer)
		_, err := s.api().ReadState(ctx, r, []string{"q1"})
		if err == nil || errors.As(err, &e) {
			t.Errorf("%v answered %s: %v, want a decoding error", r, answer, err)
		}
	}
}

// The token's failure ends the read before anything is sent.
func TestReadStateTokenError(t *testing.T) {
	s := newServer(t, 200, `[]`)
	api := s.api()
	boom := errors.New("no token")
	api.Tokens = &staticTokens{err: boom}
	if _, err := api.ReadState(context.Background(), genesys.PresenceReader, []string{"u1"}); !errors.Is(err, boom) {
		t.Fatalf("ReadState = %v", err)
	}
	if n := s.count(); n != 0 {
		t.Fatalf("%d requests", n)
	}
}
