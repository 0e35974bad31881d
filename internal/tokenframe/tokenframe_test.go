package tokenframe

import (
	"encoding/json"
	"testing"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		frame string
		want  Message
	}{
		{`{"event":"connected"}`, Message{Kind: Connected}},
		{`{"event":"subscribed","data":{"topic":"/users/u/presence"}}`, Message{Kind: Subscribed, Topic: "/users/u/presence"}},
		{`{"event":"unsubscribed","data":{"topic":"/users/u/presence"}}`, Message{Kind: Unsubscribed, Topic: "/users/u/presence"}},
		{`{"event":"error","data":{"status":401,"message":"expired"}}`, Message{Kind: Error, Status: 401, Text: "expired"}},
		{`{"event":"error","data":{"status":403,"topic":"/users/u/presence","message":"no"}}`, Message{Kind: Error, Status: 403, Topic: "/users/u/presence", Text: "no"}},
		{`{"event":"/users/u/presence","data":{"presence":"Available"}}`, Message{Kind: Event, Topic: "/users/u/presence", Data: json.RawMessage(`{"presence":"Available"}`)}},
		{`{"event":"connected","data":null}`, Message{Kind: Connected}},
	} {
		got, err := Decode([]byte(tc.frame))
		if err != nil {
			t.Errorf("Decode(%s): %v", tc.frame, err)
			continue
		}
		if got.Kind != tc.want.Kind || got.Topic != tc.want.Topic || got.Status != tc.want.Status ||
			got.Text != tc.want.Text || string(got.Data) != string(tc.want.Data) {
			t.Errorf("Decode(%s) = %+v, want %+v", tc.frame, got, tc.want)
		}
	}
	for _, bad := range []string{``, `{}`, `{"event":""}`, `{"event":"error","data":"x"}`, `[1]`, `{"event":7}`} {
		if m, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", bad, m)
		}
	}
}

func TestFramesEscape(t *testing.T) {
	var auth struct {
		AccessToken string `json:"access_token"`
	}
	tok := `a"b\c` + "\n"
	if err := json.Unmarshal(Auth(tok), &auth); err != nil || auth.AccessToken != tok {
		t.Fatalf("Auth frame %s: %v", Auth(tok), err)
	}
	if got := string(Subscribe("/users/u/presence")); got != `{"topic":"/users/u/presence"}` {
		t.Fatalf("Subscribe = %s", got)
	}
	if got := string(Unsubscribe("/users/u/presence")); got != `{"unsubscribe":"/users/u/presence"}` {
		t.Fatalf("Unsubscribe = %s", got)
	}
}

// FuzzDecode: any frame decodes or fails, never panics; an event always
// has a topic and the same body as encoding/json sees.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"event":"/users/u/presence","data":{"a":1}}`))
	f.Add([]byte(`{"event":"error","data":{"status":403,"topic":"/t","message":"m"}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			return
		}
		var ref struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(frame, &ref); err != nil {
			t.Fatalf("Decode accepted what encoding/json rejects: %v", err)
		}
		if m.Kind == Event && (m.Topic == "" || m.Topic != ref.Event || string(m.Data) != string(ref.Data)) {
			t.Fatalf("event %+v, encoding/json %q/%s", m, ref.Event, ref.Data)
		}
	})
}
