package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
)

func TestTopicBuilders(t *testing.T) {
	const id = "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b"
	for _, tc := range []struct {
		build func(string) string
		want  string
	}{
		{notify.UserPresenceTopic, "v2.users." + id + ".presence"},
		{notify.UserRoutingStatusTopic, "v2.users." + id + ".routingStatus"},
		{notify.UserConversationsTopic, "v2.users." + id + ".conversations"},
		{notify.QueueConversationsTopic, "v2.routing.queues." + id + ".conversations"},
		{notify.QueueObservationsTopic, "v2.analytics.queues." + id + ".observations"},
	} {
		got := tc.build(id)
		if got != tc.want {
			t.Errorf("built %q, want %q", got, tc.want)
		}
		if back, ok := notify.TopicID(got); !ok || back != id {
			t.Errorf("TopicID(%q) = %q, %v; want %q, true", got, back, ok, id)
		}
	}
}

// The builders are plain string builders: an empty id gives a topic that
// names nobody, which TopicID does not accept.
func TestTopicBuildersDoNotValidate(t *testing.T) {
	if got := notify.UserPresenceTopic(""); got != "v2.users..presence" {
		t.Errorf("UserPresenceTopic(\"\") = %q", got)
	}
	if got := notify.QueueObservationsTopic(""); got != "v2.analytics.queues..observations" {
		t.Errorf("QueueObservationsTopic(\"\") = %q", got)
	}
	for _, topic := range []string{
		"v2.users..presence",
		"v2.users.a.b.presence",
		"v2.users.3b5e0f7a.station",
		"v2.routing.queues.fd17a7c2.users",
		"v2.analytics.queues.fd17a7c2.conversations",
		"v2.users.3b5e0f7a?presence&routingStatus",
		"v2.system.socket_closing",
		"channel.metadata",
		"",
	} {
		if id, ok := notify.TopicID(topic); ok {
			t.Errorf("TopicID(%q) = %q, true; want false", topic, id)
		}
	}
}

// As documented on the builders, Subscribe refuses a topic built from an id
// with spaces.
func TestTopicWithBadIDRefusedBySubscribe(t *testing.T) {
	c, err := notify.New(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "x"}),
		notify.WithAPIBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Subscribe(context.Background(), notify.UserPresenceTopic("not an id"))
	if !errors.Is(err, notify.ErrInvalidTopic) {
		t.Fatalf("Subscribe: %v, want ErrInvalidTopic", err)
	}
}

// sample reads testdata/bodies/name, a frame as Genesys sends it on the
// socket, into the Notification the client would deliver.
func sample(t *testing.T, name string) notify.Notification {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bodies", name))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		TopicName string          `json:"topicName"`
		Version   string          `json:"version"`
		EventBody json.RawMessage `json:"eventBody"`
		Metadata  struct {
			CorrelationID string `json:"CorrelationId"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return notify.Notification{Topic: f.TopicName, Version: f.Version,
		CorrelationID: f.Metadata.CorrelationID, Body: f.EventBody, Received: time.Now()}
}

// decode decodes the sample's body into a T and checks that T marshals into
// a body that decodes and marshals again the same, with no zero times.
func decode[T any](t *testing.T, name string) (notify.Notification, T) {
	t.Helper()
	n := sample(t, name)
	v, err := notify.Decode[T](n)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "0001-01-01") {
		t.Errorf("%s: marshalled body has zero times: %s", name, b)
	}
	again, err := notify.Decode[T](notify.Notification{Topic: n.Topic, Body: b})
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(again); string(b2) != string(b) {
		t.Errorf("%s: round trip changed the body:\n%s\n%s", name, b, b2)
	}
	return n, v
}

func ts(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDecodeUserPresence(t *testing.T) {
	n, p := decode[notify.UserPresence](t, "user_presence.json")
	if id, ok := notify.TopicID(n.Topic); !ok || id != "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b" {
		t.Errorf("TopicID(%q) = %q, %v", n.Topic, id, ok)
	}
	want := notify.UserPresence{
		Source: "PURECLOUD",
		PresenceDefinition: notify.PresenceDefinition{
			ID: "e08eaf1b-ee47-4fa9-a231-1200e284798f", SystemPresence: "On Queue"},
		Primary:      true,
		ModifiedDate: ts(t, "2025-03-04T09:12:31.604Z"),
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
}

func TestDecodeUserRoutingStatus(t *testing.T) {
	_, s := decode[notify.UserRoutingStatus](t, "user_routing_status.json")
	want := notify.UserRoutingStatus{
		ID: "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b",
		RoutingStatus: notify.RoutingStatus{
			Status: "INTERACTING", StartTime: ts(t, "2025-03-04T09:12:40.118Z")},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
}

func TestDecodeUserConversation(t *testing.T) {
	_, c := decode[notify.Conversation](t, "user_conversations.json")
	if c.ID != "9d6a4c1e-0b7f-4e2a-8c3d-5f1e2a3b4c5d" || c.MaxParticipants != 3 ||
		c.RecordingState != "ACTIVE" || c.Address != "tel:+18005550199" || len(c.Participants) != 3 {
		t.Fatalf("conversation: %+v", c)
	}
	cust, acd := c.Participants[0], c.Participants[1]
	if cust.Purpose != "customer" || cust.Address != "tel:+13175550123" ||
		cust.Attributes["AccountNumber"] != "4415-0092" || cust.State() != "connected" {
		t.Errorf("customer: %+v", cust)
	}
	call := cust.Calls[0]
	if call.Direction != "inbound" || !call.Recording || call.Provider != "Edge" ||
		call.Other == nil || call.Other.AddressNormalized != "tel:+18005550199" ||
		call.Self == nil || call.Self.AddressDisplayable != "(317) 555-0123" ||
		!call.ConnectedTime.Equal(ts(t, "2025-03-04T09:11:58.225Z")) {
		t.Errorf("customer call: %+v", call)
	}
	if acd.Purpose != "acd" || acd.QueueID != "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b" ||
		acd.State() != "disconnected" || acd.Calls[0].DisconnectType != "transfer" ||
		!acd.EndTime.Equal(ts(t, "2025-03-04T09:12:38.946Z")) {
		t.Errorf("acd: %+v", acd)
	}

	agent, ok := c.UserParticipant("3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b")
	if !ok || agent.ID != "4c5d6e7f-8091-4a2b-b3c4-d5e6f7a8b9c0" || agent.Purpose != "agent" ||
		agent.Name != "Ada Lovelace" || !agent.WrapupRequired || agent.AlertingTimeoutMs != 8000 ||
		agent.State() != "connected" || agent.Calls[0].PeerID != call.ID || !agent.EndTime.IsZero() {
		t.Errorf("agent: %v %+v", ok, agent)
	}
	if _, ok := c.UserParticipant("someone-else"); ok {
		t.Error("UserParticipant found a user who is not there")
	}
	if c.Ended() {
		t.Error("Ended with connected calls")
	}
}

func TestDecodeQueueConversation(t *testing.T) {
	n, c := decode[notify.Conversation](t, "queue_conversations.json")
	if id, _ := notify.TopicID(n.Topic); id != "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b" {
		t.Errorf("TopicID(%q) = %q", n.Topic, id)
	}
	if len(c.Participants) != 2 || !c.Ended() {
		t.Fatalf("want an ended conversation of 2 participants: %+v", c)
	}
	cust, acd := c.Participants[0], c.Participants[1]
	if len(cust.Emails) != 1 || cust.Emails[0].Subject != "Invoice 4415-0092" || cust.State() != "disconnected" {
		t.Errorf("customer: %+v", cust)
	}
	if acd.State() != "terminated" || acd.Wrapup == nil || acd.Wrapup.Code != "7fb334b0-0e9e-11e4-9191-0800200c9a66" ||
		acd.Wrapup.Notes != "Customer closed the email thread." ||
		!acd.Wrapup.EndTime.Equal(ts(t, "2025-03-04T09:24:51.330Z")) {
		t.Errorf("acd: %+v", acd)
	}
	if got := len(acd.Communications()); got != 1 {
		t.Errorf("acd has %d communications, want 1", got)
	}
}

func TestDecodeQueueConversationWaiting(t *testing.T) {
	_, c := decode[notify.Conversation](t, "queue_conversations_message.json")
	acd := c.Participants[1]
	if c.Ended() {
		t.Error("Ended while the message waits in the queue")
	}
	if m := acd.Communications(); len(m) != 2 || m[0].Type != "sms" || acd.State() != "connected" {
		t.Errorf("acd: state %q, %+v", acd.State(), m)
	}
	if (notify.Participant{}).State() != "" || (notify.Conversation{}).Ended() {
		t.Error("empty participant or conversation has a state")
	}
}

func TestDecodeQueueObservation(t *testing.T) {
	_, o := decode[notify.QueueObservation](t, "queue_observations.json")
	if o.Group.QueueID != "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b" || o.Group.MediaType != "voice" {
		t.Errorf("group: %+v", o.Group)
	}
	if len(o.Data) != 1 || o.Data[0].Interval != "2025-03-04T09:12:41.005Z/2025-03-04T09:12:41.005Z" {
		t.Errorf("data: %+v", o.Data)
	}
	for metric, want := range map[string]int{"oWaiting": 3, "oInteracting": 5, "oAlerting": 1} {
		if n, ok := o.Count(metric); !ok || n != want {
			t.Errorf("Count(%s) = %d, %v; want %d, true", metric, n, ok, want)
		}
	}
	if n, ok := o.Count("oOnQueueUsers"); ok || n != 0 {
		t.Errorf("Count(oOnQueueUsers) = %d, %v for a body without it", n, ok)
	}
}

func TestDecodeQueueObservationUsers(t *testing.T) {
	_, o := decode[notify.QueueObservation](t, "queue_observations_users.json")
	if o.Group.MediaType != "" {
		t.Errorf("agent metrics have media type %q", o.Group.MediaType)
	}
	if n, ok := o.Count("oOnQueueUsers"); !ok || n != 8 {
		t.Errorf("Count(oOnQueueUsers) = %d, %v; want 8 (2 IDLE + 5 INTERACTING + 1 NOT_RESPONDING)", n, ok)
	}
	if q := o.Data[0].Metrics[1]; q.Qualifier != "INTERACTING" || q.Stats.Count != 5 {
		t.Errorf("second metric: %+v", q)
	}
	if n, ok := o.Count("oActiveUsers"); !ok || n != 11 {
		t.Errorf("Count(oActiveUsers) = %d, %v", n, ok)
	}
}

// The same topic carries 30-minute aggregates, which have no observation.
func TestDecodeQueueObservationAggregates(t *testing.T) {
	_, o := decode[notify.QueueObservation](t, "queue_aggregates.json")
	if _, ok := o.Count("oWaiting"); ok {
		t.Error("aggregates counted as oWaiting")
	}
	m := o.Data[0].Metrics
	if len(m) != 4 || m[2].Metric != "tAcd" || m[2].Stats.Count != 2 || m[2].Stats.Sum != 86168 ||
		m[2].Stats.Max != 74387 || m[3].Stats.Ratio != 0.5 || m[3].Stats.Target != 0.8 {
		t.Errorf("metrics: %+v", m)
	}
}

// The results of the REST observation query use the flat form of data.
func TestDecodeQueueObservationQueryResults(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "bodies", "queue_observation_query.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct{ Results []notify.QueueObservation }
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != 2 {
		t.Fatalf("results: %+v", resp.Results)
	}
	media, users := resp.Results[0], resp.Results[1]
	if n, ok := media.Count("oWaiting"); !ok || n != 3 || media.Group.MediaType != "voice" {
		t.Errorf("oWaiting = %d, %v in %+v", n, ok, media)
	}
	if n, ok := media.Count("oInteracting"); !ok || n != 5 {
		t.Errorf("oInteracting = %d, %v", n, ok)
	}
	if n, ok := users.Count("oOnQueueUsers"); !ok || n != 7 {
		t.Errorf("oOnQueueUsers = %d, %v", n, ok)
	}
}

func TestDecodeBadBodyNamesTopic(t *testing.T) {
	n := notify.Notification{Topic: notify.UserPresenceTopic("x"), Body: json.RawMessage(`{"modifiedDate":"yesterday"}`)}
	if _, err := notify.Decode[notify.UserPresence](n); err == nil || !strings.Contains(err.Error(), n.Topic) {
		t.Errorf("Decode: %v, want an error naming %s", err, n.Topic)
	}
}

// A Snapshot's body decodes as a Notification's does, through a value or a
// pointer; a body that does not decode names the snapshot and its topic.
func TestDecodeSnapshot(t *testing.T) {
	topic := notify.UserPresenceTopic("u1")
	snap := notify.Snapshot{Topic: topic,
		Body: json.RawMessage(`{"userId":"u1","source":"PURECLOUD","presenceDefinition":{"systemPresence":"Away"},"modifiedDate":"2025-03-04T09:12:31.604Z"}`)}
	for _, ev := range []notify.Event{snap, &snap} {
		p, err := notify.Decode[notify.UserPresence](ev)
		if err != nil || p.PresenceDefinition.SystemPresence != "Away" || !p.ModifiedDate.Equal(ts(t, "2025-03-04T09:12:31.604Z")) {
			t.Errorf("Decode(%T) = %+v, %v", ev, p, err)
		}
	}
	_, err := notify.Decode[notify.UserPresence](notify.Snapshot{Topic: topic, Body: json.RawMessage(`[1]`)})
	if err == nil || !strings.Contains(err.Error(), "snapshot of "+topic) {
		t.Errorf("Decode of a bad snapshot: %v", err)
	}
	n := notify.Notification{Topic: topic, Body: snap.Body}
	if p, err := notify.Decode[notify.UserPresence](&n); err != nil || p.PresenceDefinition.SystemPresence != "Away" {
		t.Errorf("Decode(*Notification) = %+v, %v", p, err)
	}
}

// Any event but a Notification or a Snapshot is an error that names it.
func TestDecodeOtherEvents(t *testing.T) {
	for _, ev := range []notify.Event{
		notify.Connected{ChannelID: "c"}, notify.Disconnected{}, notify.Rejected{}, notify.Dropped{Count: 1},
		notify.Resynced{}, (*notify.Notification)(nil), (*notify.Snapshot)(nil), nil,
	} {
		v, err := notify.Decode[map[string]any](ev)
		if err == nil || v != nil || !strings.Contains(err.Error(), "a Notification or a Snapshot") || !strings.Contains(err.Error(), fmt.Sprintf("%T", ev)) {
			t.Errorf("Decode(%#v) = %v, %v; want an error naming %T", ev, v, err, ev)
		}
	}
}
