package genesys

import (
	"encoding/json"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		frame string
		want  Message
	}{
		{`{"topicName":"v2.users.u1.presence","version":"2","eventBody":{"id":"u1"},"metadata":{"CorrelationId":"c1"}}`,
			Message{Kind: Event, Topic: "v2.users.u1.presence", Version: "2", CorrelationID: "c1", Body: json.RawMessage(`{"id":"u1"}`)}},
		{`{"topicName":"v2.users.u1.presence","version":2,"eventBody":[1]}`,
			Message{Kind: Event, Topic: "v2.users.u1.presence", Version: "2", Body: json.RawMessage(`[1]`)}},
		{`{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}`,
			Message{Kind: Heartbeat, Topic: "channel.metadata", Body: json.RawMessage(`{"message":"WebSocket Heartbeat"}`)}},
		{`{"topicName":"channel.metadata","eventBody":{"message":"pong"}}`,
			Message{Kind: Pong, Topic: "channel.metadata", Body: json.RawMessage(`{"message":"pong"}`)}},
		{`{"topicName":"v2.system.socket_closing","version":"2","eventBody":{"channelId":"c"}}`,
			Message{Kind: SocketClosing, Topic: "v2.system.socket_closing", Version: "2", Body: json.RawMessage(`{"channelId":"c"}`)}},
		{`{"topicName":"v2.system.no_longer_subscribed.streaming-0-x","eventBody":{}}`,
			Message{Kind: NoLongerSubscribed, Topic: "v2.system.no_longer_subscribed.streaming-0-x", Body: json.RawMessage(`{}`)}},
		{`{"topicName":"v2.system.token_revoked.streaming-0-x","eventBody":{}}`,
			Message{Kind: TokenRevoked, Topic: "v2.system.token_revoked.streaming-0-x", Body: json.RawMessage(`{}`)}},
	} {
		got, err := Decode([]byte(tc.frame))
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.frame, err)
			continue
		}
		if got.Kind != tc.want.Kind || got.Topic != tc.want.Topic || got.Version != tc.want.Version ||
			got.CorrelationID != tc.want.CorrelationID || string(got.Body) != string(tc.want.Body) {
			t.Errorf("Decode(%s) = %+v, want %+v", tc.frame, got, tc.want)
		}
	}
	for _, bad := range []string{``, `null`, `[]`, `{"eventBody":{}}`, `{"topicName":7}`, `{"topicName":"t"`, `{"topicName":"t","metadata":[]}`} {
		if m, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", bad, m)
		}
	}
}

// FuzzDecode: any frame yields a message with a topic or an error, never
// a panic, and agrees with a plain encoding/json decode of the fields.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"topicName":"v2.users.u1.presence","version":"2","eventBody":{"id":"u1"},"metadata":{"CorrelationId":"c1"}}`))
	f.Add([]byte(`{"topicName":"channel.metadata","eventBody":{"message":"pong"}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			return
		}
		if m.Topic == "" {
			t.Fatal("decoded a frame without a topic")
		}
		var ref struct {
			TopicName string          `json:"topicName"`
			EventBody json.RawMessage `json:"eventBody"`
		}
		if err := json.Unmarshal(frame, &ref); err != nil {
			t.Fatalf("Decode accepted what encoding/json rejects: %v", err)
		}
		if ref.TopicName != m.Topic || string(ref.EventBody) != string(m.Body) {
			t.Fatalf("Decode = %q/%s, encoding/json = %q/%s", m.Topic, m.Body, ref.TopicName, ref.EventBody)
		}
	})
}
