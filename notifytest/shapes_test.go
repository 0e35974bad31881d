package notifytest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify/notifytest"
)

// model is the shape of a Genesys model, as testdata/genesys_models.json
// records it from the official SDKs.
type model struct {
	Source string
	Fields map[string]string
}

func loadModels(t *testing.T) map[string]model {
	t.Helper()
	data, err := os.ReadFile("testdata/genesys_models.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	decode(t, data, &raw)
	models := map[string]model{}
	for name, m := range raw {
		if strings.HasPrefix(name, "_") {
			continue
		}
		var md model
		decode(t, m, &md)
		models[name] = md
	}
	return models
}

// shapeErrors returns where v, at path, does not have the JSON type typ
// (see testdata/genesys_models.json): a field the model lacks, or a value
// of another type.
func shapeErrors(models map[string]model, v any, typ, path string) []string {
	bad := func(why string) []string { return []string{path + ": " + why} }
	switch {
	case typ == "any":
		return nil
	case typ == "string":
		if _, ok := v.(string); !ok {
			return bad("not a string")
		}
	case typ == "date-time":
		s, ok := v.(string)
		if !ok {
			return bad("not a string")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil || !strings.HasSuffix(s, "Z") {
			return bad("not an ISO-8601 UTC date-time: " + s)
		}
	case typ == "integer", typ == "number":
		n, ok := v.(json.Number)
		if !ok {
			return bad("not a number")
		}
		if _, err := n.Int64(); typ == "integer" && err != nil {
			return bad("not an integer: " + n.String())
		}
	case typ == "boolean":
		if _, ok := v.(bool); !ok {
			return bad("not a boolean")
		}
	case strings.HasPrefix(typ, "[]"):
		list, ok := v.([]any)
		if !ok {
			return bad("not an array")
		}
		var errs []string
		for _, e := range list {
			errs = append(errs, shapeErrors(models, e, typ[2:], path+"[]")...)
		}
		return errs
	case strings.HasPrefix(typ, "map[") && strings.HasSuffix(typ, "]"):
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("not an object")
		}
		var errs []string
		for k, e := range obj {
			errs = append(errs, shapeErrors(models, e, typ[4:len(typ)-1], path+"."+k)...)
		}
		return errs
	case strings.HasPrefix(typ, "@"):
		m, ok := models[typ[1:]]
		if !ok {
			return bad("unknown model " + typ)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return bad("not an object")
		}
		var errs []string
		for k, e := range obj {
			ft, ok := m.Fields[k]
			if !ok {
				errs = append(errs, path+"."+k+": not a field of "+typ[1:])
				continue
			}
			errs = append(errs, shapeErrors(models, e, ft, path+"."+k)...)
		}
		return errs
	default:
		return bad("unknown type " + typ)
	}
	return nil
}

// present reports whether v has the dotted path: "entities[].id" holds if
// entities is a non-empty array whose every element has an id; "[]" alone
// stands for v itself being such an array.
func present(v any, path string) bool {
	if path == "" {
		return v != nil
	}
	seg, rest, _ := strings.Cut(path, ".")
	name, each := strings.CutSuffix(seg, "[]")
	if name != "" {
		obj, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = obj[name]; !ok {
			return false
		}
	}
	if !each {
		return present(v, rest)
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return false
	}
	for _, e := range list {
		if !present(e, rest) {
			return false
		}
	}
	return true
}

// decodeNumbers decodes JSON keeping numbers as json.Number.
func decodeNumbers(t *testing.T, data []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("cannot decode %s: %v", data, err)
	}
	return v
}

// The fake's answers and frames have the shapes of the Genesys models:
// every field is one the model has, with its JSON type, and the fields a
// client relies on are there.
func TestShapes(t *testing.T) {
	models := loadModels(t)
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, Permit: permitSecret})
	rest := func(status int, method, path, body string) func() []byte {
		return func() []byte {
			t.Helper()
			resp, data := h.do(token, method, path, body)
			if resp.StatusCode != status {
				t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, data)
			}
			return data
		}
	}

	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, "v2.users.u1?presence&routingStatus", "v2.analytics.queues.q1.observations")
	h.srv.SetPresence("u1", "On Queue")
	h.srv.SetRoutingStatus("u1", "IDLE")
	h.srv.SetQueueObservation("q1", map[string]int{"oWaiting": 2, "oOnQueueUsers:IDLE": 1})
	var frames [][]byte
	for range 4 { // presence, routing status, two observations
		frames = append(frames, readEvent(t, c).EventBody)
	}
	h.srv.SocketClosing(ch.ID)
	frames = append(frames, readEvent(t, c).EventBody)
	frame := func(i int) func() []byte { return func() []byte { return frames[i] } }

	for _, tc := range []struct {
		name     string
		get      func() []byte
		typ      string
		required []string
	}{
		{"create channel", rest(200, http.MethodPost, channelsPath, ""), "@Channel",
			[]string{"connectUri", "id", "expires"}},
		{"list channels", rest(200, http.MethodGet, channelsPath, ""), "@ChannelEntityListing",
			[]string{"entities[].connectUri", "entities[].id", "entities[].expires"}},
		{"put subscriptions", rest(200, http.MethodPut, subsPath(ch.ID)+"?ignoreErrors=true",
			topicList("v2.users.u1?presence&routingStatus", "v2.analytics.queues.q1.observations", presenceOf("secretx"))),
			"@ChannelTopicEntityListing", []string{"entities[].id", "entities[].state"}},
		{"get subscriptions", rest(200, http.MethodGet, subsPath(ch.ID), ""), "@ChannelTopicEntityListing",
			[]string{"entities[].id", "entities[].state"}},
		{"available topics", rest(200, http.MethodGet, "/api/v2/notifications/availabletopics?expand=description,requiresPermissions,transports,topicParameters,visibility", ""),
			"@AvailableTopicEntityListing", []string{"entities[].id", "entities[].description", "entities[].requiresPermissions",
				"entities[].transports", "entities[].topicParameters", "entities[].visibility"}},
		{"not found", rest(404, http.MethodGet, subsPath("streaming-0-x"), ""), "@ErrorBody",
			[]string{"message", "code", "status", "contextId", "details", "errors"}},
		{"rate limited", func() []byte {
			h.srv.FailNext(1, http.StatusTooManyRequests, time.Second)
			return rest(429, http.MethodGet, channelsPath, "")()
		}, "@ErrorBody", []string{"message", "code", "status", "contextId", "details", "errors"}},
		{"bulk presences", rest(200, http.MethodGet, bulkPath+"?id=u1&id=u2", ""), "[]@UcUserPresence",
			[]string{"[].userId", "[].source", "[].presenceDefinition.id", "[].presenceDefinition.systemPresence", "[].message", "[].modifiedDate"}},
		{"user presence", rest(200, http.MethodGet, "/api/v2/users/u1/presences/purecloud", ""), "@UcUserPresence",
			[]string{"userId", "source", "presenceDefinition.id", "presenceDefinition.systemPresence", "modifiedDate"}},
		{"users", rest(200, http.MethodGet, "/api/v2/users?id=u1&id=u2&expand=routingStatus,presence&pageSize=100", ""), "@UserEntityListing",
			[]string{"entities[].id", "entities[].name", "entities[].routingStatus.userId", "entities[].routingStatus.status",
				"entities[].routingStatus.startTime", "entities[].presence.presenceDefinition.systemPresence", "pageSize", "pageNumber", "total"}},
		{"routing status", rest(200, http.MethodGet, "/api/v2/users/u1/routingstatus", ""), "@RoutingStatus",
			[]string{"userId", "status", "startTime"}},
		{"observations", rest(200, http.MethodPost, "/api/v2/analytics/queues/observations/query",
			observationQuery([]string{"q1", "q2"}, "oWaiting", "oInteracting", "oOnQueueUsers")), "@QueueObservationQueryResponse",
			[]string{"results[].group.queueId", "results[].data[].metric", "results[].data[].stats.count"}},
		{"token", func() []byte {
			_, body := h.tokenRequest(http.MethodPost, "notifytest-client", "notifytest-secret", clientCredentials)
			return body
		}, "@OAuthToken", []string{"access_token", "token_type", "expires_in"}},
		{"token refused", func() []byte {
			_, body := h.tokenRequest(http.MethodPost, "notifytest-client", "wrong", clientCredentials)
			return body
		}, "@OAuthError", []string{"error", "description", "error_description"}},
		{"presence event", frame(0), "@PresenceEventUserPresence",
			[]string{"source", "presenceDefinition.id", "presenceDefinition.systemPresence", "message", "modifiedDate"}},
		{"routing status event", frame(1), "@UserRoutingStatusUserRoutingStatus",
			[]string{"id", "routingStatus.status", "routingStatus.startTime"}},
		{"conversation observation event", frame(2), "@StatsNotificationNotification",
			[]string{"group.queueId", "group.mediaType", "data[].interval", "data[].metrics[].metric", "data[].metrics[].stats.count"}},
		{"agent observation event", frame(3), "@StatsNotificationNotification",
			[]string{"group.queueId", "data[].interval", "data[].metrics[].metric", "data[].metrics[].qualifier", "data[].metrics[].stats.count"}},
		{"socket_closing", frame(4), "@SystemMessageSystemMessage",
			[]string{"channelId", "systemTopicType", "correlationId", "organizationId", "userId", "oauthClientId", "reason", "message", "data"}},
	} {
		data := tc.get()
		v := decodeNumbers(t, data)
		for _, e := range shapeErrors(models, v, tc.typ, tc.name) {
			t.Errorf("%s\n\tin %s", e, data)
		}
		for _, p := range tc.required {
			if !present(v, p) {
				t.Errorf("%s: %s missing in %s", tc.name, p, data)
			}
		}
	}
}

// The shape checker itself finds misnamed fields and wrong types.
func TestShapeErrors(t *testing.T) {
	models := loadModels(t)
	for _, tc := range []struct {
		json, typ string
		bad       bool
	}{
		{`{"connectUri":"ws://x","id":"c","expires":"2026-11-28T12:41:54.707Z"}`, "@Channel", false},
		{`{"connectURI":"ws://x"}`, "@Channel", true},
		{`{"expires":"tomorrow"}`, "@Channel", true},
		{`{"status":"404"}`, "@ErrorBody", true},
		{`{"status":404.5}`, "@ErrorBody", true},
		{`{"entities":[{"id":1}]}`, "@ChannelTopicEntityListing", true},
		{`[{"userId":"u","presenceDefinition":{"systemPresence":"Busy","primary":true}}]`, "[]@UcUserPresence", true},
	} {
		if errs := shapeErrors(models, decodeNumbers(t, []byte(tc.json)), tc.typ, "v"); (len(errs) > 0) != tc.bad {
			t.Errorf("%s as %s: errors %v, want bad = %v", tc.json, tc.typ, errs, tc.bad)
		}
	}
	if !present(decodeNumbers(t, []byte(`{"a":[{"b":1}]}`)), "a[].b") || present(decodeNumbers(t, []byte(`{"a":[]}`)), "a[].b") {
		t.Error("present is wrong")
	}
}
