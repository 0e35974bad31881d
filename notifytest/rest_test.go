package notifytest_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify/notifytest"
)

var channelIDRE = regexp.MustCompile(`^streaming-0-[a-z0-9]{26}$`)

type errorBody struct {
	Message   string            `json:"message"`
	Code      string            `json:"code"`
	Status    int               `json:"status"`
	ContextID string            `json:"contextId"`
	Details   []json.RawMessage `json:"details"`
	Errors    []json.RawMessage `json:"errors"`
}

// checkError checks that the response is an error with status and code.
func checkError(t *testing.T, resp *http.Response, body []byte, status int, code string) errorBody {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var e errorBody
	decode(t, body, &e)
	if e.Code != code || e.Status != status || e.Message == "" || e.ContextID == "" {
		t.Errorf("error body %s, want code %q and status %d", body, code, status)
	}
	if e.Details == nil || e.Errors == nil || len(e.Details)+len(e.Errors) != 0 {
		t.Errorf("error body %s, want empty details and errors", body)
	}
	return e
}

type topicResult struct {
	ID                 string   `json:"id"`
	State              string   `json:"state"`
	RejectionReason    string   `json:"rejectionReason"`
	MissingPermissions []string `json:"missingPermissions"`
}

func getTopics(t *testing.T, h *harness, id string) []string {
	t.Helper()
	var got struct{ Entities []topicResult }
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, subsPath(id), ""), &got)
	topics := []string{}
	for _, e := range got.Entities {
		topics = append(topics, e.ID)
	}
	return topics
}

func TestCreateChannel(t *testing.T) {
	const ttl = time.Hour
	h := newHarness(t, notifytest.Config{ChannelTTL: ttl})

	before := time.Now()
	a := h.create(token)
	after := time.Now()
	b := h.create(token)

	for _, ch := range []channelInfo{a, b} {
		if !channelIDRE.MatchString(ch.ID) {
			t.Errorf("id %q does not look like a channel id", ch.ID)
		}
		want := "ws" + strings.TrimPrefix(h.srv.URL(), "http") + "/channels/" + ch.ID
		if ch.ConnectURI != want {
			t.Errorf("connectUri %q, want %q", ch.ConnectURI, want)
		}
	}
	if a.ID == b.ID {
		t.Fatalf("two channels with id %q", a.ID)
	}
	if !strings.HasPrefix(h.srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %q", h.srv.URL())
	}

	exp, err := time.Parse("2006-01-02T15:04:05.000Z", a.Expires)
	if err != nil {
		t.Fatalf("expires %q: %v", a.Expires, err)
	}
	if exp.Before(before.Add(ttl).Truncate(time.Millisecond)) || exp.After(after.Add(ttl)) {
		t.Errorf("expires %v, want now + %v", exp, ttl)
	}

	chans := h.srv.Channels()
	if len(chans) != 2 || chans[0].ID != a.ID || chans[1].ID != b.ID {
		t.Fatalf("Channels() = %+v, want %s then %s", chans, a.ID, b.ID)
	}
	if chans[0].Connected || chans[0].Topics != 0 {
		t.Errorf("Channels()[0] = %+v", chans[0])
	}
	if got := chans[0].Expires.Truncate(time.Millisecond).UTC(); !got.Equal(exp) {
		t.Errorf("Channels()[0].Expires = %v, REST says %v", got, exp)
	}
	if n := h.srv.Stats().ChannelsCreated; n != 2 {
		t.Errorf("ChannelsCreated = %d, want 2", n)
	}
}

func TestUniqueChannelIDs(t *testing.T) {
	h := newHarness(t, notifytest.Config{MaxChannels: 1000})
	seen := map[string]bool{}
	for range 200 {
		id := h.create(token).ID
		if seen[id] {
			t.Fatalf("duplicate channel id %q", id)
		}
		seen[id] = true
	}
}

func TestHeadChannel(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)

	resp, _ := h.do(token, http.MethodHead, channelsPath+"/"+ch.ID, "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD existing: status %d", resp.StatusCode)
	}
	resp, _ = h.do(token, http.MethodHead, channelsPath+"/streaming-0-nope", "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD unknown: status %d", resp.StatusCode)
	}
}

func TestListChannels(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	a1 := h.create("alice")
	b1 := h.create("bob")
	a2 := h.create("alice")

	for tok, want := range map[string][]string{"alice": {a1.ID, a2.ID}, "bob": {b1.ID}, "carol": {}} {
		resp, body := h.do(tok, http.MethodGet, channelsPath, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET channels: status %d: %s", resp.StatusCode, body)
		}
		var got struct{ Entities []channelInfo }
		decode(t, body, &got)
		ids := []string{}
		for _, ch := range got.Entities {
			ids = append(ids, ch.ID)
			if ch.ConnectURI == "" || ch.Expires == "" {
				t.Errorf("incomplete channel %+v", ch)
			}
		}
		if !slices.Equal(ids, want) {
			t.Errorf("%s: channels %v, want %v", tok, ids, want)
		}
		if got.Entities == nil {
			t.Errorf("%s: entities is null: %s", tok, body)
		}
	}
}

func TestUnauthorized(t *testing.T) {
	h := newHarness(t, notifytest.Config{Authorize: func(tok string) bool { return tok == "good" }})
	ch := h.create("good")

	for _, auth := range []string{"", "Bearer", "Bearer ", "Basic good", "Bearer bad"} {
		for _, r := range []struct{ method, path, body string }{
			{http.MethodPost, channelsPath, ""},
			{http.MethodGet, channelsPath, ""},
			{http.MethodPut, subsPath(ch.ID), topicList("a")},
		} {
			req, _ := http.NewRequest(r.method, h.srv.URL()+r.path, strings.NewReader(r.body))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := h.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			body, err = readAll(resp)
			if err != nil {
				t.Fatal(err)
			}
			checkError(t, resp, body, http.StatusUnauthorized, "bad.credentials")
		}
	}
	if got := h.srv.Subscriptions(ch.ID); got != nil {
		t.Errorf("subscriptions changed to %v", got)
	}
	if s := h.srv.Stats(); s.ChannelsCreated != 1 || s.SubscriptionCalls != 0 {
		t.Errorf("Stats() = %+v", s)
	}
}

func permitSecret(topic string) (bool, string, []string) {
	if strings.HasPrefix(topic, "v2.users.secret") {
		return false, "missing permission for " + topic, []string{"notifications:secret:view"}
	}
	return true, "", nil
}

func TestPutIgnoreErrors(t *testing.T) {
	h := newHarness(t, notifytest.Config{Permit: permitSecret})
	ch := h.create(token)

	body := h.doStatus(http.StatusOK, http.MethodPut, subsPath(ch.ID)+"?ignoreErrors=true",
		topicList(presenceOf("b"), presenceOf("secretx"), presenceOf("a"), presenceOf("b"), presenceOf("secretx")))
	var got struct{ Entities []topicResult }
	decode(t, body, &got)
	want := []topicResult{
		{ID: presenceOf("b"), State: "Permitted"},
		{ID: presenceOf("secretx"), State: "Rejected", RejectionReason: "missing permission for " + presenceOf("secretx"), MissingPermissions: []string{"notifications:secret:view"}},
		{ID: presenceOf("a"), State: "Permitted"},
	}
	if !slices.EqualFunc(got.Entities, want, func(a, b topicResult) bool {
		return a.ID == b.ID && a.State == b.State && a.RejectionReason == b.RejectionReason &&
			slices.Equal(a.MissingPermissions, b.MissingPermissions)
	}) {
		t.Fatalf("PUT result %s, want %+v", body, want)
	}
	if strings.Contains(string(body), `"rejectionReason":""`) {
		t.Errorf("permitted topics carry a rejection reason: %s", body)
	}

	if topics := getTopics(t, h, ch.ID); !slices.Equal(topics, []string{presenceOf("a"), presenceOf("b")}) {
		t.Errorf("GET subscriptions = %v, want [a b]", topics)
	}
	var listed struct{ Entities []topicResult }
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, subsPath(ch.ID), ""), &listed)
	for _, e := range listed.Entities {
		if e.State != "Permitted" {
			t.Errorf("GET subscriptions: %+v, want state Permitted", e)
		}
	}
	if topics := h.srv.Subscriptions(ch.ID); !slices.Equal(topics, []string{presenceOf("a"), presenceOf("b")}) {
		t.Errorf("Subscriptions() = %v, want [a b]", topics)
	}
}

func TestPutRejected(t *testing.T) {
	h := newHarness(t, notifytest.Config{Permit: permitSecret})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("a"))

	for _, method := range []string{http.MethodPut, http.MethodPost} {
		resp, body := h.do(token, method, subsPath(ch.ID), topicList(presenceOf("c"), presenceOf("secrety")))
		e := checkError(t, resp, body, http.StatusForbidden, "missing.any.permissions")
		if !strings.Contains(e.Message, presenceOf("secrety")) {
			t.Errorf("message %q does not name the rejected topic", e.Message)
		}
		if topics := getTopics(t, h, ch.ID); !slices.Equal(topics, []string{presenceOf("a")}) {
			t.Errorf("after rejected %s: subscriptions %v, want [a]", method, topics)
		}
	}
	if n := h.srv.Stats().SubscriptionCalls; n != 3 {
		t.Errorf("SubscriptionCalls = %d, want 3", n)
	}
}

func TestPostAddsPutReplaces(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)

	h.put(ch.ID, presenceOf("b"))
	body := h.doStatus(http.StatusOK, http.MethodPost, subsPath(ch.ID), topicList(presenceOf("a"), presenceOf("b")))
	var got struct{ Entities []topicResult }
	decode(t, body, &got)
	if len(got.Entities) != 2 || got.Entities[0].ID != presenceOf("a") || got.Entities[1].ID != presenceOf("b") || got.Entities[0].State != "Permitted" {
		t.Errorf("POST result %s", body)
	}
	if topics := getTopics(t, h, ch.ID); !slices.Equal(topics, []string{presenceOf("a"), presenceOf("b")}) {
		t.Fatalf("after POST: %v, want [a b]", topics)
	}

	h.put(ch.ID, presenceOf("c"))
	if topics := getTopics(t, h, ch.ID); !slices.Equal(topics, []string{presenceOf("c")}) {
		t.Fatalf("after PUT: %v, want [c]", topics)
	}
	if c := h.srv.Channels()[0]; c.Topics != 1 {
		t.Errorf("Channels()[0].Topics = %d, want 1", c.Topics)
	}
}

func TestDeleteSubscriptions(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("a"), presenceOf("b"))

	// The SDKs' deleteNotificationsChannelSubscriptions returns nothing.
	resp, body := h.do(token, http.MethodDelete, subsPath(ch.ID), "")
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Errorf("DELETE: status %d, body %q, want 204 without a body", resp.StatusCode, body)
	}
	if topics := getTopics(t, h, ch.ID); len(topics) != 0 {
		t.Errorf("after DELETE: %v", topics)
	}
	if got := h.srv.Subscriptions(ch.ID); got != nil {
		t.Errorf("Subscriptions() = %v, want nil", got)
	}
	if n := h.srv.Stats().SubscriptionCalls; n != 2 {
		t.Errorf("SubscriptionCalls = %d, want 2", n)
	}
}

func TestTooManyTopics(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)

	topics := make([]string, 1001)
	for i := range topics {
		topics[i] = presenceOf(strconv.Itoa(i))
	}
	h.put(ch.ID, presenceOf("keep"))

	resp, body := h.do(token, http.MethodPut, subsPath(ch.ID), topicList(topics...))
	checkError(t, resp, body, http.StatusBadRequest, "bad.request")
	if got := h.srv.Subscriptions(ch.ID); !slices.Equal(got, []string{presenceOf("keep")}) {
		t.Fatalf("after 1001 topics: %v, want [keep]", got)
	}

	h.put(ch.ID, topics[:1000]...)
	resp, body = h.do(token, http.MethodPost, subsPath(ch.ID), topicList(presenceOf("onemore")))
	checkError(t, resp, body, http.StatusBadRequest, "bad.request")
	if got := h.srv.Subscriptions(ch.ID); len(got) != 1000 || slices.Contains(got, presenceOf("onemore")) {
		t.Fatalf("after POST beyond the limit: %d topics", len(got))
	}
	// Re-adding a subscribed topic does not count twice.
	h.doStatus(http.StatusOK, http.MethodPost, subsPath(ch.ID), topicList(topics[0]))
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("a"))

	for _, body := range []string{"", "{", `{"id":"x"}`, `[{"id":1}]`, `[{"id":""}]`, `[{}]`, `[{"id":"v2.users.b.presence"},{"id":""}]`} {
		for _, method := range []string{http.MethodPut, http.MethodPost} {
			resp, rbody := h.do(token, method, subsPath(ch.ID), body)
			checkError(t, resp, rbody, http.StatusBadRequest, "bad.request")
		}
	}
	if got := h.srv.Subscriptions(ch.ID); !slices.Equal(got, []string{presenceOf("a")}) {
		t.Errorf("subscriptions changed to %v", got)
	}

	unknown := "streaming-0-unknown"
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete} {
		resp, body := h.do(token, method, subsPath(unknown), topicList(presenceOf("a")))
		checkError(t, resp, body, http.StatusNotFound, "not.found")
	}
	resp, body := h.do(token, http.MethodGet, "/api/v2/other", "")
	checkError(t, resp, body, http.StatusNotFound, "not.found")
	resp, body = h.do(token, http.MethodPatch, subsPath(ch.ID), "")
	checkError(t, resp, body, http.StatusMethodNotAllowed, "method.not.allowed")
}

func TestSubscribeExtendsChannel(t *testing.T) {
	const ttl = time.Hour
	h := newHarness(t, notifytest.Config{ChannelTTL: ttl})
	ch := h.create(token)
	created := h.srv.Channels()[0].Expires

	before := time.Now()
	h.put(ch.ID, presenceOf("a"))
	if exp := h.srv.Channels()[0].Expires; exp.Before(before.Add(ttl)) || !exp.After(created) {
		t.Errorf("after PUT: expires %v, want at least %v", exp, before.Add(ttl))
	}
	before = time.Now()
	h.doStatus(http.StatusOK, http.MethodPost, subsPath(ch.ID), topicList(presenceOf("b")))
	if exp := h.srv.Channels()[0].Expires; exp.Before(before.Add(ttl)) {
		t.Errorf("after POST: expires %v, want at least %v", exp, before.Add(ttl))
	}
}

func TestChannelExpiry(t *testing.T) {
	h := newHarness(t, notifytest.Config{ChannelTTL: 250 * time.Millisecond, HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, presenceOf("a"))

	// Nobody touches the server: the janitor expires the channel.
	e := read(t, c)
	if e.TopicName != "v2.system.no_longer_subscribed."+ch.ID {
		t.Fatalf("got %s, want no_longer_subscribed", e.raw)
	}
	readErr(t, c)
	resp, _ := h.do(token, http.MethodHead, channelsPath+"/"+ch.ID, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD expired channel: status %d", resp.StatusCode)
	}

	// An expired channel is gone even before the janitor runs.
	h2 := newHarness(t, notifytest.Config{ChannelTTL: time.Millisecond})
	ch2 := h2.create(token)
	waitFor(t, "the channel to expire", func() bool { return len(h2.srv.Channels()) == 0 })
	resp, body := h2.do(token, http.MethodGet, subsPath(ch2.ID), "")
	checkError(t, resp, body, http.StatusNotFound, "not.found")
}

func TestFailNext(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)

	h.srv.FailNext(2, http.StatusTooManyRequests, 1500*time.Millisecond)
	for range 2 {
		resp, body := h.do(token, http.MethodPut, subsPath(ch.ID), topicList(presenceOf("a")))
		checkError(t, resp, body, http.StatusTooManyRequests, "too.many.requests.retry.after")
		if ra := resp.Header.Get("Retry-After"); ra != "2" {
			t.Errorf("Retry-After %q, want 2", ra)
		}
	}
	h.put(ch.ID, presenceOf("a"))
	if n := h.srv.Stats().SubscriptionCalls; n != 1 {
		t.Errorf("SubscriptionCalls = %d, want 1", n)
	}

	// Any endpoint, even without a token.
	h.srv.FailNext(1, http.StatusServiceUnavailable, 0)
	resp, body := h.do("", http.MethodPost, channelsPath, "")
	checkError(t, resp, body, http.StatusServiceUnavailable, "internal.server.error")
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After %q, want none", ra)
	}
	h.create(token)

	// A new call replaces the pending failures; n = 0 cancels them.
	h.srv.FailNext(5, http.StatusInternalServerError, 0)
	h.srv.FailNext(0, http.StatusInternalServerError, 0)
	h.create(token)
}

// A combined topic is stored as the topics it names: the answers list them,
// each with its state, and their events reach the socket.
func TestCombinedTopics(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, Permit: permitSecret})
	ch := h.create(token)
	c := h.dial(ch)

	body := h.doStatus(http.StatusOK, http.MethodPut, subsPath(ch.ID)+"?ignoreErrors=true",
		topicList("v2.users.u1?presence&routingStatus", "v2.users.u1.presence", "v2.users.secret2?presence&routingStatus"))
	var got struct{ Entities []topicResult }
	decode(t, body, &got)
	want := []topicResult{
		{ID: "v2.users.u1.presence", State: "Permitted"},
		{ID: "v2.users.u1.routingStatus", State: "Permitted"},
		{ID: "v2.users.secret2.presence", State: "Rejected"},
		{ID: "v2.users.secret2.routingStatus", State: "Rejected"},
	}
	if !slices.EqualFunc(got.Entities, want, func(a, b topicResult) bool { return a.ID == b.ID && a.State == b.State }) {
		t.Fatalf("PUT result %s, want %+v", body, want)
	}
	stored := []string{"v2.users.u1.presence", "v2.users.u1.routingStatus"}
	if topics := getTopics(t, h, ch.ID); !slices.Equal(topics, stored) {
		t.Errorf("GET subscriptions = %v, want %v", topics, stored)
	}
	if topics := h.srv.Subscriptions(ch.ID); !slices.Equal(topics, stored) {
		t.Errorf("Subscriptions() = %v, want %v", topics, stored)
	}
	if _, n := h.srv.Publish("v2.users.u1.routingStatus", 1); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if e := readEvent(t, c); e.TopicName != "v2.users.u1.routingStatus" {
		t.Errorf("got %s", e.raw)
	}
	// POST expands too; the expansion is what counts.
	h.doStatus(http.StatusOK, http.MethodPost, subsPath(ch.ID), topicList("v2.users.u3?presence"))
	if n := h.srv.Channels()[0].Topics; n != 3 {
		t.Errorf("Channels()[0].Topics = %d, want 3", n)
	}

	for _, bad := range []string{"v2.users.u1?", "v2.users.u1?presence&", "?presence", "v2.users.?presence"} {
		resp, rbody := h.do(token, http.MethodPut, subsPath(ch.ID), topicList(bad))
		checkError(t, resp, rbody, http.StatusBadRequest, "bad.request")
	}
}

// The combined form counts as its expansion toward MaxTopics.
func TestCombinedTopicsCountTwice(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("keep"))
	combined := func(n int) []string {
		topics := make([]string, n)
		for i := range topics {
			topics[i] = "v2.users.u" + strconv.Itoa(i) + "?presence&routingStatus"
		}
		return topics
	}

	resp, body := h.do(token, http.MethodPut, subsPath(ch.ID), topicList(combined(600)...)) // 1,200 topics
	checkError(t, resp, body, http.StatusBadRequest, "bad.request")
	if got := h.srv.Subscriptions(ch.ID); !slices.Equal(got, []string{presenceOf("keep")}) {
		t.Fatalf("after 600 combined topics: %v, want [keep]", got)
	}
	h.put(ch.ID, combined(500)...) // 1,000 topics
	if n := len(h.srv.Subscriptions(ch.ID)); n != 1000 {
		t.Fatalf("%d topics, want 1000", n)
	}
}

// Every answer carries an ININ-Correlation-Id, distinct per request; an
// error body's contextId repeats it.
func TestCorrelationIDHeader(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	seen := map[string]bool{}
	check := func(what string, resp *http.Response, body []byte) {
		t.Helper()
		cid := resp.Header.Get("ININ-Correlation-Id")
		if cid == "" || seen[cid] {
			t.Errorf("%s: ININ-Correlation-Id %q, want a new one", what, cid)
		}
		seen[cid] = true
		if resp.StatusCode >= 400 && resp.Request.URL.Path != "/oauth/token" {
			var e errorBody
			decode(t, body, &e)
			if e.ContextID != cid {
				t.Errorf("%s: contextId %q, header %q", what, e.ContextID, cid)
			}
		}
	}
	for _, r := range []struct{ tok, method, path, body string }{
		{token, http.MethodPost, channelsPath, ""},
		{token, http.MethodGet, channelsPath, ""},
		{token, http.MethodHead, channelsPath + "/" + ch.ID, ""},
		{token, http.MethodPut, subsPath(ch.ID), topicList(presenceOf("a"))},
		{token, http.MethodGet, subsPath(ch.ID), ""},
		{token, http.MethodDelete, subsPath(ch.ID), ""},
		{token, http.MethodGet, "/api/v2/users/presences/purecloud/bulk?id=u", ""},
		{token, http.MethodGet, "/api/v2/users?id=u&expand=routingStatus", ""},
		{token, http.MethodGet, subsPath("streaming-0-unknown"), ""},
		{"", http.MethodPost, channelsPath, ""},
		{token, http.MethodPost, "/oauth/token", ""},
	} {
		resp, body := h.do(r.tok, r.method, r.path, r.body)
		check(r.method+" "+r.path, resp, body)
	}
	h.srv.FailNext(1, http.StatusTooManyRequests, time.Second)
	resp, body := h.do(token, http.MethodGet, channelsPath, "")
	check("FailNext", resp, body)
}

// GET /channels lists the channels of the token by default, and those of
// the token's app with includechannels=oauthclient.
func TestListChannelsOfApp(t *testing.T) {
	h := newHarness(t, notifytest.Config{App: func(tok string) string { return tok[:1] }})
	a1 := h.create("a1")
	a2 := h.create("a2")
	h.create("b1")
	list := func(tok, query string) []string {
		t.Helper()
		var got struct{ Entities []channelInfo }
		resp, body := h.do(tok, http.MethodGet, channelsPath+query, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET channels%s: status %d: %s", query, resp.StatusCode, body)
		}
		decode(t, body, &got)
		ids := []string{}
		for _, ch := range got.Entities {
			ids = append(ids, ch.ID)
		}
		return ids
	}
	if got := list("a1", "?includechannels=token"); !slices.Equal(got, []string{a1.ID}) {
		t.Errorf("token: %v, want [%s]", got, a1.ID)
	}
	if got := list("a1", "?includechannels=oauthclient"); !slices.Equal(got, []string{a1.ID, a2.ID}) {
		t.Errorf("oauthclient: %v, want [%s %s]", got, a1.ID, a2.ID)
	}
	resp, body := h.do("a1", http.MethodGet, channelsPath+"?includechannels=all", "")
	checkError(t, resp, body, http.StatusBadRequest, "bad.request")
}
