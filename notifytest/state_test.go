package notifytest_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

const bulkPath = "/api/v2/users/presences/purecloud/bulk"

// idsQuery returns "?id=…&id=…" and then extra.
func idsQuery(ids []string, extra string) string {
	q := url.Values{"id": ids}
	return "?" + q.Encode() + extra
}

func userIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "u" + strconv.Itoa(i)
	}
	return ids
}

// subscribedSocket opens a channel socket subscribed to topics.
func subscribedSocket(t *testing.T, h *harness, topics ...string) *websocket.Conn {
	t.Helper()
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, topics...)
	return c
}

func TestSetPresence(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := subscribedSocket(t, h, "v2.users.u1.presence")

	var last time.Time
	for _, p := range []string{"On Queue", "Busy", "Available"} { // within a millisecond or not
		if n := h.srv.SetPresence("u1", p); n != 1 {
			t.Fatalf("delivered %d, want 1", n)
		}
		e := readEvent(t, c)
		if e.TopicName != "v2.users.u1.presence" {
			t.Fatalf("got %s", e.raw)
		}
		var body notify.UserPresence
		decode(t, e.EventBody, &body)
		system, modified := h.srv.Presence("u1")
		if body.Source != "PURECLOUD" || body.PresenceDefinition.SystemPresence != p || body.PresenceDefinition.ID == "" ||
			!body.ModifiedDate.Equal(modified) || system != p {
			t.Errorf("body %s, Presence() = %s %v, want %s", e.EventBody, system, modified, p)
		}
		if !modified.After(last) {
			t.Errorf("modifiedDate %v not after %v", modified, last)
		}
		last = modified
	}
	// Every presence has its own organization presence id.
	h.srv.SetPresence("u2", "On Queue")
	var got []notify.UserPresence
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, bulkPath+idsQuery([]string{"u1", "u2"}, ""), ""), &got)
	if got[0].PresenceDefinition.ID == got[1].PresenceDefinition.ID {
		t.Errorf("Available and On Queue share the id %s", got[0].PresenceDefinition.ID)
	}
}

func TestSetRoutingStatus(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := subscribedSocket(t, h, "v2.users.u1?presence&routingStatus")

	var last time.Time
	for _, st := range []string{"IDLE", "INTERACTING", "IDLE"} {
		if n := h.srv.SetRoutingStatus("u1", st); n != 1 {
			t.Fatalf("delivered %d, want 1", n)
		}
		e := readEvent(t, c)
		if e.TopicName != "v2.users.u1.routingStatus" {
			t.Fatalf("got %s", e.raw)
		}
		var body notify.UserRoutingStatus
		decode(t, e.EventBody, &body)
		status, start := h.srv.RoutingStatus("u1")
		if body.ID != "u1" || body.RoutingStatus.Status != st || !body.RoutingStatus.StartTime.Equal(start) || status != st {
			t.Errorf("body %s, RoutingStatus() = %s %v, want %s", e.EventBody, status, start, st)
		}
		if !start.After(last) {
			t.Errorf("startTime %v not after %v", start, last)
		}
		last = start
	}
}

// Conversation and agent metrics come in separate notifications, each
// with the values set by the call.
func TestSetQueueObservation(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := subscribedSocket(t, h, "v2.analytics.queues.q1.observations")

	n := h.srv.SetQueueObservation("q1", map[string]int{"oWaiting": 3, "oInteracting": 5, "oOnQueueUsers:IDLE": 2, "oOnQueueUsers:INTERACTING": 1})
	if n != 2 {
		t.Fatalf("delivered %d, want 2 notifications", n)
	}
	var bodies []notify.QueueObservation
	for range 2 {
		e := readEvent(t, c)
		var body notify.QueueObservation
		decode(t, e.EventBody, &body)
		if e.TopicName != "v2.analytics.queues.q1.observations" || body.Group.QueueID != "q1" || len(body.Data) != 1 || body.Data[0].Interval == "" {
			t.Fatalf("got %s", e.raw)
		}
		bodies = append(bodies, body)
	}
	conv, agents := bodies[0], bodies[1]
	if w, _ := conv.Count("oWaiting"); w != 3 || conv.Group.MediaType != "voice" {
		t.Errorf("conversation notification %+v, want oWaiting 3 for voice", conv)
	}
	if _, ok := conv.Count("oOnQueueUsers"); ok {
		t.Errorf("conversation notification %+v carries agent metrics", conv)
	}
	if on, _ := agents.Count("oOnQueueUsers"); on != 3 || agents.Group.MediaType != "" {
		t.Errorf("agent notification %+v, want oOnQueueUsers 3 without media type", agents)
	}

	// Values not set keep theirs; the notification holds only the change.
	if n := h.srv.SetQueueObservation("q1", map[string]int{"oWaiting": 0}); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	var body notify.QueueObservation
	decode(t, readEvent(t, c).EventBody, &body)
	if w, ok := body.Count("oWaiting"); w != 0 || !ok {
		t.Errorf("got %+v, want oWaiting 0", body)
	}
	if _, ok := body.Count("oInteracting"); ok {
		t.Errorf("got %+v, want only the change", body)
	}
	want := map[string]int{"oWaiting": 0, "oInteracting": 5, "oOnQueueUsers:IDLE": 2, "oOnQueueUsers:INTERACTING": 1}
	if got := h.srv.QueueObservation("q1"); !maps.Equal(got, want) {
		t.Errorf("QueueObservation() = %v, want %v", got, want)
	}
}

func TestSettersPanicOnInvalidValues(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	for name, f := range map[string]func(){
		"presence":        func() { h.srv.SetPresence("u", "ON_QUEUE") },
		"presence user":   func() { h.srv.SetPresence("", "Available") },
		"routing status":  func() { h.srv.SetRoutingStatus("u", "Idle") },
		"metric":          func() { h.srv.SetQueueObservation("q", map[string]int{"waiting": 1}) },
		"empty qualifier": func() { h.srv.SetQueueObservation("q", map[string]int{"oOnQueueUsers:": 1}) },
		"negative":        func() { h.srv.SetQueueObservation("q", map[string]int{"oWaiting": -1}) },
		"queue":           func() { h.srv.SetQueueObservation("", map[string]int{"oWaiting": 1}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// State changed while no socket is open is kept: it is what a snapshot
// after a gap reads.
func TestStateKeptWithoutSockets(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	if n := h.srv.SetPresence("u1", "Busy"); n != 0 {
		t.Errorf("delivered %d without sockets", n)
	}
	h.srv.SetRoutingStatus("u1", "INTERACTING")
	h.srv.SetQueueObservation("q1", map[string]int{"oWaiting": 4})

	var presences []notify.UserPresence
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, bulkPath+"?id=u1", ""), &presences)
	_, modified := h.srv.Presence("u1")
	if len(presences) != 1 || presences[0].PresenceDefinition.SystemPresence != "Busy" || !presences[0].ModifiedDate.Equal(modified) {
		t.Errorf("bulk presences %+v", presences)
	}
	var users struct {
		Entities []struct {
			ID            string               `json:"id"`
			RoutingStatus notify.RoutingStatus `json:"routingStatus"`
		}
	}
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users?id=u1&expand=routingStatus&pageSize=100", ""), &users)
	if len(users.Entities) != 1 || users.Entities[0].RoutingStatus.Status != "INTERACTING" {
		t.Errorf("users %+v", users)
	}
	obs := queryObservations(t, h, []string{"q1"}, "oWaiting", "oInteracting")
	if len(obs) != 1 {
		t.Fatalf("results %+v, want one group", obs)
	}
	if w, _ := obs[0].Count("oWaiting"); w != 4 {
		t.Errorf("oWaiting %d, want 4", w)
	}
	if i, ok := obs[0].Count("oInteracting"); i != 0 || !ok {
		t.Errorf("oInteracting %d %v, want 0", i, ok)
	}
}

// queryObservations posts an observation query for the queues and
// metrics and returns its results.
func queryObservations(t *testing.T, h *harness, queues []string, metrics ...string) []notify.QueueObservation {
	t.Helper()
	body := h.doStatus(http.StatusOK, http.MethodPost, "/api/v2/analytics/queues/observations/query", observationQuery(queues, metrics...))
	var got struct{ Results []notify.QueueObservation }
	decode(t, body, &got)
	return got.Results
}

func observationQuery(queues []string, metrics ...string) string {
	type predicate struct {
		Dimension string `json:"dimension"`
		Value     string `json:"value"`
	}
	var q struct {
		Filter struct {
			Type       string      `json:"type"`
			Predicates []predicate `json:"predicates"`
		} `json:"filter"`
		Metrics []string `json:"metrics"`
	}
	q.Filter.Type = "or"
	for _, id := range queues {
		q.Filter.Predicates = append(q.Filter.Predicates, predicate{"queueId", id})
	}
	q.Metrics = metrics
	b, _ := json.Marshal(q)
	return string(b)
}

func TestPresenceReaders(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	h.srv.SetPresence("a", "On Queue")

	var got []map[string]any
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, bulkPath+idsQuery([]string{"a", "b", "a"}, ""), ""), &got)
	if len(got) != 2 || got[0]["userId"] != "a" || got[1]["userId"] != "b" || got[0]["source"] != "PURECLOUD" {
		t.Fatalf("bulk answer %v, want a then b", got)
	}
	// A user whose presence was never set is Offline.
	var b notify.UserPresence
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users/b/presences/purecloud", ""), &b)
	if b.PresenceDefinition.SystemPresence != "Offline" || b.ModifiedDate.IsZero() {
		t.Errorf("unknown user: %+v, want Offline with a date", b)
	}
	if p, _ := h.srv.Presence("b"); p != "Offline" {
		t.Errorf("Presence(b) = %s", p)
	}

	for _, q := range []string{"", idsQuery(userIDs(51), ""), "?id="} {
		resp, body := h.do(token, http.MethodGet, bulkPath+q, "")
		checkError(t, resp, body, http.StatusBadRequest, "bad.request")
	}
	h.doStatus(http.StatusOK, http.MethodGet, bulkPath+idsQuery(userIDs(50), ""), "")
	resp, body := h.do("", http.MethodGet, bulkPath+"?id=a", "")
	checkError(t, resp, body, http.StatusUnauthorized, "bad.credentials")
	resp, body = h.do(token, http.MethodPost, bulkPath+"?id=a", "")
	checkError(t, resp, body, http.StatusMethodNotAllowed, "method.not.allowed")
	if s := h.srv.Stats(); s.PresenceReads != 6 || s.UserReads != 0 || s.ObservationQueries != 0 {
		t.Errorf("Stats() = %+v, want 6 presence reads", s)
	}
}

func TestUserReaders(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	h.srv.SetRoutingStatus("u1", "IDLE")
	type listing struct {
		Entities []struct {
			ID            string                `json:"id"`
			RoutingStatus *notify.RoutingStatus `json:"routingStatus"`
		}
		PageSize, PageNumber, Total, PageCount int
		NextURI                                string
	}

	var l listing
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users"+idsQuery([]string{"u1", "u2"}, "&expand=routingStatus&pageSize=100"), ""), &l)
	if len(l.Entities) != 2 || l.Total != 2 || l.PageSize != 100 || l.PageNumber != 1 || l.PageCount != 1 || l.NextURI != "" {
		t.Fatalf("listing %+v", l)
	}
	if rs := l.Entities[0].RoutingStatus; rs == nil || rs.Status != "IDLE" {
		t.Errorf("u1: %+v, want IDLE", rs)
	}
	// A user whose status was never set is OFF_QUEUE.
	if rs := l.Entities[1].RoutingStatus; rs == nil || rs.Status != "OFF_QUEUE" || rs.StartTime.IsZero() {
		t.Errorf("u2: %+v, want OFF_QUEUE with a start time", rs)
	}

	// Without expand there is no routing status; without pageSize a page
	// holds 25 users.
	l = listing{}
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users"+idsQuery(userIDs(30), ""), ""), &l)
	if len(l.Entities) != 25 || l.Total != 30 || l.PageCount != 2 || !strings.Contains(l.NextURI, "pageNumber=2") {
		t.Errorf("listing of 30 users: %d entities, %+v", len(l.Entities), l)
	}
	if l.Entities[0].RoutingStatus != nil {
		t.Errorf("routing status without expand")
	}
	l = listing{}
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users"+idsQuery(userIDs(30), "&pageNumber=2&expand=routingStatus"), ""), &l)
	if len(l.Entities) != 5 || l.Entities[0].ID != "u25" || l.Entities[0].RoutingStatus == nil {
		t.Errorf("page 2: %+v", l)
	}

	var rs notify.RoutingStatus
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users/u1/routingstatus", ""), &rs)
	if rs.Status != "IDLE" {
		t.Errorf("routingstatus of u1: %+v", rs)
	}
	for _, q := range []string{idsQuery(userIDs(101), ""), "?pageSize=0", "?pageSize=501", "?pageNumber=x", "?id="} {
		resp, body := h.do(token, http.MethodGet, "/api/v2/users"+q, "")
		checkError(t, resp, body, http.StatusBadRequest, "bad.request")
	}
	h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users"+idsQuery(userIDs(100), "&pageSize=100"), "")
	if s := h.srv.Stats(); s.UserReads != 10 || s.PresenceReads != 0 {
		t.Errorf("Stats() = %+v, want 10 user reads", s)
	}
}

func TestObservationQuery(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	h.srv.SetQueueObservation("q1", map[string]int{"oWaiting": 3, "oOnQueueUsers:IDLE": 2, "oOnQueueUsers:INTERACTING": 1})

	got := queryObservations(t, h, []string{"q1", "q2", "q1"}, "oWaiting", "oOnQueueUsers", "oWaiting")
	type group struct{ queue, media string }
	var groups []group
	for _, r := range got {
		groups = append(groups, group{r.Group.QueueID, r.Group.MediaType})
	}
	want := []group{{"q1", "voice"}, {"q1", ""}, {"q2", "voice"}, {"q2", ""}}
	if !slices.Equal(groups, want) {
		t.Fatalf("groups %v, want %v", groups, want)
	}
	if w, _ := got[0].Count("oWaiting"); w != 3 || len(got[0].Data) != 1 {
		t.Errorf("q1 voice: %+v, want oWaiting 3 once", got[0])
	}
	if on, _ := got[1].Count("oOnQueueUsers"); on != 3 || len(got[1].Data) != 2 {
		t.Errorf("q1 agents: %+v, want oOnQueueUsers 2+1 by qualifier", got[1])
	}
	if on, ok := got[3].Count("oOnQueueUsers"); on != 0 || !ok {
		t.Errorf("q2 agents: %+v, want oOnQueueUsers 0", got[3])
	}

	queues := make([]string, 101)
	for i := range queues {
		queues[i] = "q" + strconv.Itoa(i)
	}
	for _, body := range []string{
		observationQuery(queues, "oWaiting"),
		observationQuery([]string{"q1"}, "waiting"),
		observationQuery([]string{"q1"}),
		observationQuery(nil, "oWaiting"),
		`{"metrics":["oWaiting"]}`,
		`{"filter":{"type":"xor","predicates":[{"dimension":"queueId","value":"q1"}]},"metrics":["oWaiting"]}`,
		`{"filter":{"type":"or","predicates":[{"dimension":"userId","value":"u"}]},"metrics":["oWaiting"]}`,
		`{"filter":{"type":"or","predicates":[{"dimension":"queueId"}]},"metrics":["oWaiting"]}`,
		`[`,
	} {
		resp, rbody := h.do(token, http.MethodPost, "/api/v2/analytics/queues/observations/query", body)
		checkError(t, resp, rbody, http.StatusBadRequest, "bad.request")
	}
	queryObservations(t, h, queues[:100], "oWaiting")
	// Clauses count toward the limit, and their queues are answered.
	body := h.doStatus(http.StatusOK, http.MethodPost, "/api/v2/analytics/queues/observations/query",
		`{"filter":{"type":"or","clauses":[{"type":"or","predicates":[{"dimension":"queueId","value":"q1"}]}]},"metrics":["oWaiting"]}`)
	var clauses struct{ Results []notify.QueueObservation }
	decode(t, body, &clauses)
	if len(clauses.Results) != 1 || clauses.Results[0].Group.QueueID != "q1" {
		t.Errorf("query with clauses: %s", body)
	}
	resp, rbody := h.do(token, http.MethodGet, "/api/v2/analytics/queues/observations/query", "")
	checkError(t, resp, rbody, http.StatusMethodNotAllowed, "method.not.allowed")
	if s := h.srv.Stats(); s.ObservationQueries != 12 {
		t.Errorf("ObservationQueries = %d, want 12", s.ObservationQueries)
	}
}

// FailNextOn fails one kind of request only, and FailNext any of them.
func TestReaderFaults(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	const obsPath = "/api/v2/analytics/queues/observations/query"
	h.srv.FailNextOn(obsPath, 1, http.StatusForbidden, 0)
	h.srv.FailNextOn(bulkPath, 2, http.StatusTooManyRequests, 1500*time.Millisecond)
	h.srv.FailNextOn("/api/v2/users/*/routingstatus", 1, http.StatusServiceUnavailable, 0)

	h.doStatus(http.StatusOK, http.MethodGet, "/api/v2/users?id=u", "")
	h.doStatus(http.StatusOK, http.MethodPost, channelsPath, "")
	resp, body := h.do(token, http.MethodPost, obsPath, observationQuery([]string{"q"}, "oWaiting"))
	checkError(t, resp, body, http.StatusForbidden, "missing.any.permissions")
	queryObservations(t, h, []string{"q"}, "oWaiting")
	for range 2 {
		resp, body := h.do(token, http.MethodGet, bulkPath+"?id=u", "")
		checkError(t, resp, body, http.StatusTooManyRequests, "too.many.requests.retry.after")
		if ra := resp.Header.Get("Retry-After"); ra != "2" {
			t.Errorf("Retry-After %q, want 2", ra)
		}
	}
	h.doStatus(http.StatusOK, http.MethodGet, bulkPath+"?id=u", "")
	resp, body = h.do(token, http.MethodGet, "/api/v2/users/u/routingstatus", "")
	checkError(t, resp, body, http.StatusServiceUnavailable, "internal.server.error")

	// A new call replaces the pattern's pending failures; n <= 0 cancels.
	h.srv.FailNextOn(bulkPath, 5, http.StatusInternalServerError, 0)
	h.srv.FailNextOn(bulkPath, 0, http.StatusInternalServerError, 0)
	h.doStatus(http.StatusOK, http.MethodGet, bulkPath+"?id=u", "")

	// FailNext reaches the readers too.
	h.srv.FailNext(1, http.StatusBadGateway, 0)
	resp, body = h.do(token, http.MethodGet, bulkPath+"?id=u", "")
	checkError(t, resp, body, http.StatusBadGateway, "internal.server.error")

	// Injected failures are not counted.
	if s := h.srv.Stats(); s.ObservationQueries != 1 || s.PresenceReads != 2 || s.UserReads != 1 {
		t.Errorf("Stats() = %+v", s)
	}
	for _, bad := range []string{"[", "/a[b"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FailNextOn(%q) did not panic", bad)
				}
			}()
			h.srv.FailNextOn(bad, 1, 500, 0)
		}()
	}
}

// Versions strictly increase as clients see them (milliseconds), even for
// calls within one millisecond.
func TestVersionsStrictlyIncrease(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	var lastP, lastR time.Time
	for i := range 100 {
		h.srv.SetPresence("u", []string{"Available", "Busy"}[i%2])
		h.srv.SetRoutingStatus("u", "IDLE")
		_, p := h.srv.Presence("u")
		_, r := h.srv.RoutingStatus("u")
		if !p.After(lastP) || !r.After(lastR) || !p.Equal(p.Truncate(time.Millisecond)) {
			t.Fatalf("call %d: presence %v after %v, routing status %v after %v", i, p, lastP, r, lastR)
		}
		lastP, lastR = p, r
	}
}
