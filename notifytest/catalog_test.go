package notifytest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gcnotify/notify/notifytest"
)

const catalogPath = "/api/v2/notifications/availabletopics"

// The built-in catalog has the SDKs' templates, each complete, and one
// that a channel cannot carry.
func TestBuiltInCatalog(t *testing.T) {
	topics := notifytest.AvailableTopics()
	if len(topics) < 60 {
		t.Fatalf("%d templates, want at least 60", len(topics))
	}
	if !slices.IsSortedFunc(topics, func(a, b notifytest.AvailableTopic) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("templates not sorted by id")
	}
	offWS := 0
	for i, tp := range topics {
		if i > 0 && topics[i-1].ID == tp.ID {
			t.Errorf("%s listed twice", tp.ID)
		}
		if !strings.HasPrefix(tp.ID, "v2.") || tp.Description == "" || len(tp.Transports) == 0 || tp.RequiresPermissions == nil {
			t.Errorf("incomplete template %+v", tp)
		}
		if n := strings.Count(tp.ID, "{id}"); len(tp.TopicParameters) != n {
			t.Errorf("%s: parameters %v for %d ids", tp.ID, tp.TopicParameters, n)
		}
		if !tp.OnWebSocket() {
			offWS++
		}
	}
	if offWS == 0 {
		t.Error("every template is available on a WebSocket")
	}
	for _, id := range []string{"v2.users.{id}.presence", "v2.users.{id}.routingStatus", "v2.users.{id}.conversations",
		"v2.routing.queues.{id}.conversations", "v2.analytics.queues.{id}.observations",
		"v2.users.{id}.outbound.contactlists.{id}.export", "v2.detail.events.conversation.{id}.acw"} {
		if !slices.ContainsFunc(topics, func(tp notifytest.AvailableTopic) bool { return tp.ID == id }) {
			t.Errorf("%s missing", id)
		}
	}
}

type catalogEntry struct {
	ID                  string    `json:"id"`
	Description         *string   `json:"description"`
	RequiresPermissions *[]string `json:"requiresPermissions"`
	Transports          *[]string `json:"transports"`
	TopicParameters     *[]string `json:"topicParameters"`
	Visibility          *string   `json:"visibility"`
}

func readCatalog(t *testing.T, h *harness, query string) map[string]catalogEntry {
	t.Helper()
	var got struct{ Entities []catalogEntry }
	decode(t, h.doStatus(http.StatusOK, http.MethodGet, catalogPath+query, ""), &got)
	byID := map[string]catalogEntry{}
	for _, e := range got.Entities {
		byID[e.ID] = e
	}
	return byID
}

// GET availabletopics lists ids, and the fields that expand names;
// Config.Topics adds templates; includePreview=false leaves out previews.
func TestAvailableTopicsEndpoint(t *testing.T) {
	preview := notifytest.AvailableTopic{ID: "v2.example.{id}.preview", Description: "d", Transports: []string{"Websocket"}, Visibility: "Preview"}
	h := newHarness(t, notifytest.Config{Topics: []notifytest.AvailableTopic{preview}})

	plain := readCatalog(t, h, "")
	if len(plain) != len(notifytest.AvailableTopics())+1 {
		t.Fatalf("%d entities, want the built-in ones and one more", len(plain))
	}
	if e := plain["v2.users.{id}.presence"]; e.Description != nil || e.Transports != nil {
		t.Errorf("fields without expand: %+v", e)
	}
	for _, q := range []string{"?expand=transports&expand=description", "?expand=transports,description"} {
		e := readCatalog(t, h, q)["v2.users.{id}.presence"]
		if e.Transports == nil || !slices.Equal(*e.Transports, []string{"All"}) || e.Description == nil || *e.Description == "" || e.TopicParameters != nil {
			t.Errorf("%s: %+v", q, e)
		}
	}
	e := readCatalog(t, h, "?expand=requiresPermissions,topicParameters,visibility")["v2.outbound.settings"]
	if e.RequiresPermissions == nil || e.TopicParameters == nil || len(*e.TopicParameters) != 0 || e.Visibility == nil || *e.Visibility != "Public" {
		t.Errorf("empty lists are left out: %+v", e)
	}
	if _, ok := readCatalog(t, h, "?includePreview=false")[preview.ID]; ok {
		t.Error("a preview topic listed with includePreview=false")
	}
	for _, q := range []string{"?expand=everything", "?includePreview=maybe"} {
		resp, body := h.do(token, http.MethodGet, catalogPath+q, "")
		checkError(t, resp, body, http.StatusBadRequest, "bad.request")
	}
	resp, body := h.do(token, http.MethodPost, catalogPath, "")
	checkError(t, resp, body, http.StatusMethodNotAllowed, "method.not.allowed")
	resp, body = h.do("", http.MethodGet, catalogPath, "")
	checkError(t, resp, body, http.StatusUnauthorized, "bad.credentials")
	if n := h.srv.Stats().TopicCatalogReads; n != 7 {
		t.Errorf("TopicCatalogReads = %d, want 7", n)
	}
}

// A subscription request naming a topic outside the catalog, with a
// placeholder, or of a template a channel cannot carry fails as a whole
// with 400, ignoreErrors or not, and changes nothing.
func TestSubscribeOutsideTheCatalog(t *testing.T) {
	custom := notifytest.AvailableTopic{ID: "v2.example.{id}.things"}
	h := newHarness(t, notifytest.Config{Topics: []notifytest.AvailableTopic{custom}})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("u1"))

	for bad, say := range map[string]string{
		"v2.users.u1.presense":          "matches no available topic",
		"v2.users.{userId}.presence":    "matches no available topic",
		"v2.nonsense":                   "matches no available topic",
		"v2.users.u2?presence&presense": "v2.users.u2.presense",
		"v2.audits.entitytype.User.entityid.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f": "EventBridge",
	} {
		for _, q := range []string{"", "?ignoreErrors=true"} {
			for _, method := range []string{http.MethodPut, http.MethodPost} {
				resp, body := h.do(token, method, subsPath(ch.ID)+q, topicList(presenceOf("u2"), bad))
				e := checkError(t, resp, body, http.StatusBadRequest, "bad.request")
				if !strings.Contains(e.Message, say) {
					t.Errorf("%s %s: message %q, want it to say %q", method, bad, e.Message, say)
				}
			}
		}
	}
	if got := h.srv.Subscriptions(ch.ID); !slices.Equal(got, []string{presenceOf("u1")}) {
		t.Fatalf("subscriptions changed to %v", got)
	}

	good := []string{"v2.users.u1.outbound.contactlists.cl-1.export", "v2.example.e1.things", "v2.users.u2?presence&routingStatus"}
	h.put(ch.ID, good...)
	want := []string{"v2.example.e1.things", "v2.users.u1.outbound.contactlists.cl-1.export", "v2.users.u2.presence", "v2.users.u2.routingStatus"}
	if got := h.srv.Subscriptions(ch.ID); !slices.Equal(got, want) {
		t.Fatalf("subscriptions %v, want %v", got, want)
	}
}
