package genesys

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gcnotify/notify/internal/jsonscan"
)

// refDecode is the original encoding/json implementation of Decode, kept
// as the reference that the hand-written decoder must agree with.
func refDecode(frame []byte) (Message, error) {
	var env struct {
		TopicName string          `json:"topicName"`
		Version   json.RawMessage `json:"version"`
		EventBody json.RawMessage `json:"eventBody"`
		Metadata  struct {
			CorrelationID string `json:"CorrelationId"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(frame, &env); err != nil {
		return Message{}, err
	}
	if env.TopicName == "" {
		return Message{}, ErrNoTopic
	}
	m := Message{
		Kind:          refClassify(env.TopicName, env.EventBody),
		Topic:         env.TopicName,
		Version:       refVersion(env.Version),
		CorrelationID: env.Metadata.CorrelationID,
		Body:          env.EventBody,
	}
	return m, nil
}

func refClassify(topic string, body json.RawMessage) Kind {
	switch {
	case topic == metadataTopic:
		var b struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &b) == nil && b.Message == "pong" {
			return Pong
		}
		return Heartbeat
	case topic == socketClosingTopic:
		return SocketClosing
	case strings.HasPrefix(topic, noLongerPrefix):
		return NoLongerSubscribed
	case strings.HasPrefix(topic, revokedPrefix):
		return TokenRevoked
	}
	return Event
}

func refVersion(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// sameResult fails unless got/err and want/werr agree: the same message,
// or errors of the same class (syntax errors also with the same message
// and offset).
func sameResult(t *testing.T, frame []byte, got Message, err error, want Message, werr error) {
	t.Helper()
	if (err == nil) != (werr == nil) {
		t.Fatalf("%.200q:\n got %+v, %v\nwant %+v, %v", frame, got, err, want, werr)
	}
	if err != nil {
		var se *jsonscan.SyntaxError
		var jse *json.SyntaxError
		var te *jsonscan.TypeError
		var jte *json.UnmarshalTypeError
		switch {
		case errors.Is(werr, ErrNoTopic):
			if !errors.Is(err, ErrNoTopic) {
				t.Fatalf("%.200q: got %v, want ErrNoTopic", frame, err)
			}
		case errors.As(werr, &jse):
			if !errors.As(err, &se) || se.Msg != jse.Error() || int64(se.Offset) != jse.Offset {
				t.Fatalf("%.200q: got %v, want syntax error %q at %d", frame, err, jse, jse.Offset)
			}
		case errors.As(werr, &jte):
			if !errors.As(err, &te) {
				t.Fatalf("%.200q: got %v, want type error %v", frame, err, werr)
			}
		default:
			t.Fatalf("%.200q: reference error of unexpected type %T: %v", frame, werr, werr)
		}
		return
	}
	if got.Kind != want.Kind || got.Topic != want.Topic || got.Version != want.Version ||
		got.CorrelationID != want.CorrelationID || !bytes.Equal(got.Body, want.Body) || (got.Body == nil) != (want.Body == nil) {
		t.Fatalf("%.200q:\n got %+v (body %q)\nwant %+v (body %q)", frame, got, got.Body, want, want.Body)
	}
}

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
		// encoding/json's corners, which Decode keeps.
		{`{"TOPICNAME":"a","verſion":"3","EventBody":null,"METADATA":{"correlationID":"c"}}`,
			Message{Topic: "a", Version: "3", CorrelationID: "c", Body: json.RawMessage(`null`)}},
		{`{"topic\u004eame":"b","version":null,"topicName":null,"metadata":{"CorrelationId":"c"},"metadata":{"x":1},"metadata":null}`,
			Message{Topic: "b", CorrelationID: "c"}},
		{`{"topicName":"channel.metadata","eventBody":{"Message":"po\u006eg","mess\u0061ge":null}}`,
			Message{Kind: Pong, Topic: "channel.metadata", Body: json.RawMessage(`{"Message":"po\u006eg","mess\u0061ge":null}`)}},
		{`{"topicName":"channel.metadata","eventBody":{"message":"pong","message":1}}`,
			Message{Kind: Heartbeat, Topic: "channel.metadata", Body: json.RawMessage(`{"message":"pong","message":1}`)}},
		{` {"topicName":"t","version":{"a":[1e400]},"eventBody": -0 } `,
			Message{Topic: "t", Version: `{"a":[1e400]}`, Body: json.RawMessage(`-0`)}},
		{`{"topicName":"\ud83d\ude00\ud800x","eventBody":"\u00e9"}`,
			Message{Topic: "\U0001F600\uFFFDx", Body: json.RawMessage(`"\u00e9"`)}},
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
		want, werr := refDecode([]byte(tc.frame))
		sameResult(t, []byte(tc.frame), got, err, want, werr)
	}
	for _, bad := range []string{``, `null`, `[]`, `{"eventBody":{}}`, `{"topicName":7}`, `{"topicName":"t"`, `{"topicName":"t","metadata":[]}`,
		`{"topicName":""}`, `{"topicName":"t","metadata":{"CorrelationId":5}}`, `{"topicName":"t"} x`, `{"topicName":"t",}`,
		`{"topicName":"t","x":01}`, `"t"`, `{"topicName":"t","topicName":true}`, `{"topicName":"t","x":[` + strings.Repeat("[", 10000) + `]}`} {
		m, err := Decode([]byte(bad))
		if err == nil {
			t.Errorf("Decode(%.60q) = %+v, want an error", bad, m)
		}
		want, werr := refDecode([]byte(bad))
		sameResult(t, []byte(bad), m, err, want, werr)
	}
}

func TestDecodeAliasesFrame(t *testing.T) {
	frame := []byte(`{"topicName":"t","eventBody":{"a":1}}`)
	m, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if &m.Body[0] != &frame[len(`{"topicName":"t","eventBody":`)] {
		t.Fatal("Body does not alias the frame")
	}
}

func TestDecodeOwnedCopiesOnce(t *testing.T) {
	var d Decoder
	d.Intern([]string{benchTopic})
	frame := []byte(benchFrame)
	want, _ := d.Decode([]byte(benchFrame))
	got, err := d.DecodeOwned(frame)
	if err != nil || got.Topic != want.Topic || got.Version != want.Version ||
		got.CorrelationID != want.CorrelationID || string(got.Body) != string(want.Body) {
		t.Fatalf("DecodeOwned = %+v, %v; Decode = %+v", got, err, want)
	}
	clear(frame) // the caller reuses its buffer
	if got.CorrelationID != want.CorrelationID || string(got.Body) != string(want.Body) {
		t.Fatal("DecodeOwned result changed with the frame buffer")
	}
	if cap(got.Body) != len(got.Body) {
		t.Fatal("Body's capacity reaches into the correlation id")
	}
	frame = []byte(benchFrame)
	if n := testing.AllocsPerRun(100, func() { d.DecodeOwned(frame) }); n != 1 {
		t.Errorf("DecodeOwned with an interned topic: %v allocations, want 1", n)
	}
}

func TestDecoderIntern(t *testing.T) {
	var d Decoder
	frame := []byte(benchFrame)
	m, err := d.Decode(frame)
	if err != nil || m.Topic != benchTopic {
		t.Fatalf("Decode = %+v, %v", m, err)
	}
	allocs := testing.AllocsPerRun(100, func() { d.Decode(frame) })
	d.Intern([]string{"v2.users.other.presence", benchTopic})
	interned := testing.AllocsPerRun(100, func() { d.Decode(frame) })
	// The correlation id must be allocated; the topic only when unknown,
	// and "2" is one byte, which Go converts to a string for free.
	if allocs != 2 || interned != 1 {
		t.Errorf("allocations per Decode: %v, with the topic interned %v; want 2 and 1", allocs, interned)
	}
	if m, _ := d.Decode(frame); m.Topic != benchTopic {
		t.Fatalf("interned topic %q", m.Topic)
	}
	heartbeat := []byte(`{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}`)
	if n := testing.AllocsPerRun(100, func() { d.Decode(heartbeat) }); n != 0 {
		t.Errorf("a heartbeat costs %v allocations, want 0", n)
	}
}

func TestDecoderConcurrentIntern(t *testing.T) {
	var d Decoder
	frame := []byte(benchFrame)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 100; i++ {
			d.Intern([]string{benchTopic, "v2.users.x.presence"})
		}
	}()
	for i := 0; i < 100; i++ {
		if m, err := d.Decode(frame); err != nil || m.Topic != benchTopic {
			t.Fatalf("Decode = %+v, %v", m, err)
		}
	}
	<-done
}

// FuzzDecode: for every frame the decoder agrees with the encoding/json
// reference: both fail with the same class of error (a syntax error with
// the same message and offset), or both succeed with identical fields. A
// Decoder that interns the topic agrees too.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"topicName":"v2.users.u1.presence","version":"2","eventBody":{"id":"u1"},"metadata":{"CorrelationId":"c1"}}`))
	f.Add([]byte(`{"topicName":"channel.metadata","eventBody":{"message":"pong"}}`))
	f.Add([]byte(benchFrame))
	f.Fuzz(func(t *testing.T, frame []byte) {
		got, err := Decode(frame)
		want, werr := refDecode(frame)
		sameResult(t, frame, got, err, want, werr)
		if werr == nil {
			var d Decoder
			d.Intern([]string{"x", want.Topic})
			got, err := d.Decode(frame)
			sameResult(t, frame, got, err, want, werr)
			got, err = d.DecodeOwned(frame)
			sameResult(t, frame, got, err, want, werr)
		}
	})
}

const (
	benchTopic = "v2.users.8f0e2b3c-6a1d-4f5e-9c7b-1d2e3f4a5b6c.presence"
	// benchFrame is a presence event with a 300-byte eventBody (escapes included).
	benchFrame = `{"topicName":"` + benchTopic + `","version":"2","eventBody":{"id":"8f0e2b3c-6a1d-4f5e-9c7b-1d2e3f4a5b6c",` +
		`"source":"PURECLOUD","presenceDefinition":{"id":"6a3af858-942f-489d-9700-5f9bcdcdae9b","systemPresence":"Away"},` +
		`"message":"Back at 3pm \u2014 lunch with the \"Ops\" team","modifiedDate":"2026-03-14T09:26:53.589Z","primary":true,` +
		`"version":17,"selfUri":null},` +
		`"metadata":{"CorrelationId":"9e80b7c2-4d1a-4c3b-8e2f-5a6b7c8d9e0f"}}`
)

func TestBenchFrame(t *testing.T) {
	m, err := refDecode([]byte(benchFrame))
	if err != nil || len(m.Body) < 280 || len(m.Body) > 330 {
		t.Fatalf("bench frame: body of %d bytes, %v", len(m.Body), err)
	}
}

func BenchmarkDecode(b *testing.B) {
	frame := []byte(benchFrame)
	b.Run("Decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, err := Decode(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Interned", func(b *testing.B) {
		var d Decoder
		d.Intern([]string{benchTopic})
		b.ReportAllocs()
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			if _, err := d.Decode(frame); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	frame := []byte(benchFrame)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := refDecode(frame); err != nil {
			b.Fatal(err)
		}
	}
}
