package tokenframe

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gcnotify/notify/internal/jsonscan"
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

// FuzzDecode: for every frame the decoder agrees with the encoding/json
// reference: both fail with the same class of error (a syntax error with
// the same message and offset), or both succeed with identical fields. A
// Decoder that interns the topic agrees too.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"event":"/users/u/presence","data":{"a":1}}`))
	f.Add([]byte(`{"event":"error","data":{"status":403,"topic":"/t","message":"m"}}`))
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
		}
	})
}

// refDecode is the original encoding/json implementation of Decode, kept
// as the reference that the hand-written decoder must agree with.
func refDecode(frame []byte) (Message, error) {
	var f struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		return Message{}, err
	}
	if f.Event == "" {
		return Message{}, ErrNoEvent
	}
	var kind Kind
	switch f.Event {
	case "connected":
		kind = Connected
	case "subscribed":
		kind = Subscribed
	case "unsubscribed":
		kind = Unsubscribed
	case "error":
		kind = Error
	default:
		return Message{Kind: Event, Topic: f.Event, Data: f.Data}, nil
	}
	m := Message{Kind: kind}
	if len(f.Data) > 0 && string(f.Data) != "null" {
		var d struct {
			Topic   string `json:"topic"`
			Status  int    `json:"status"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			return Message{}, err
		}
		m.Topic, m.Status, m.Text = d.Topic, d.Status, d.Message
	}
	return m, nil
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
		case errors.Is(werr, ErrNoEvent):
			if !errors.Is(err, ErrNoEvent) {
				t.Fatalf("%.200q: got %v, want ErrNoEvent", frame, err)
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
	if got.Kind != want.Kind || got.Topic != want.Topic || got.Status != want.Status || got.Text != want.Text ||
		!bytes.Equal(got.Data, want.Data) || (got.Data == nil) != (want.Data == nil) {
		t.Fatalf("%.200q:\n got %+v (data %q)\nwant %+v (data %q)", frame, got, got.Data, want, want.Data)
	}
}

func TestDecodeLikeEncodingJSON(t *testing.T) {
	for _, frame := range []string{
		`{"EVENT":"subscribed","Data":{"TOPIC":"/t","ſtatus":7,"MeSSage":"m"}}`,
		`{"event":"err\u006fr","data":{"status":-0,"status":null,"message":"a","message":null}}`,
		`{"event":"error","data":{"status":9223372036854775807}}`,
		`{"event":"error","data":{"status":9223372036854775808}}`,
		`{"event":"error","data":{"status":-9223372036854775808}}`,
		`{"event":"error","data":{"status":4.0}}`, `{"event":"error","data":{"status":1e2}}`,
		`{"event":"error","data":{"status":true}}`, `{"event":"error","data":[]}`, `{"event":"error","data":7}`,
		`{"event":"/t","data":null}`, `{"event":"/t"}`, `{"event":"/t","event":null,"data":1,"data":[2]}`,
		`{"event":"/t","data":{"a":01}}`, `null`, ` null `, `"x"`, `{"event":"/t"} {}`, `{"event":"/t",}`,
		`{"data":{},"event":"unsubscribed"}`, `{"event":"subscribed","data":{"topic":"\ud83d\ude00\udc00"}}`,
		`{"event":"/t","data":{"x":[` + strings.Repeat("[", 9997) + strings.Repeat("]", 9997) + `]}}`,
		`{"event":"/t","data":{"x":[` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `]}}`,
		`{"event":"connected","data":{"status":1,"x":[` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `]}}`,
	} {
		got, err := Decode([]byte(frame))
		want, werr := refDecode([]byte(frame))
		sameResult(t, []byte(frame), got, err, want, werr)
	}
}

func TestDecoderIntern(t *testing.T) {
	var d Decoder
	frame := []byte(benchFrame)
	reply := []byte(`{"event":"subscribed","data":{"topic":"` + benchTopic + `"}}`)
	before := testing.AllocsPerRun(100, func() { d.Decode(frame); d.Decode(reply) })
	d.Intern([]string{benchTopic})
	after := testing.AllocsPerRun(100, func() { d.Decode(frame); d.Decode(reply) })
	if before != 2 || after != 0 {
		t.Errorf("allocations for an event and a reply: %v, with the topic interned %v; want 2 and 0", before, after)
	}
	if m, err := d.Decode(frame); err != nil || m.Topic != benchTopic || &m.Data[0] != &frame[len(`{"event":"`+benchTopic+`","data":`)] {
		t.Fatalf("Decode = %+v, %v; Data must alias the frame", m, err)
	}
}

const (
	benchTopic = "/users/8f0e2b3c-6a1d-4f5e-9c7b-1d2e3f4a5b6c/presence"
	// benchFrame is a presence event with 300 bytes of data (escapes
	// included).
	benchFrame = `{"event":"` + benchTopic + `","data":{"id":"8f0e2b3c-6a1d-4f5e-9c7b-1d2e3f4a5b6c",` +
		`"source":"PURECLOUD","presenceDefinition":{"id":"6a3af858-942f-489d-9700-5f9bcdcdae9b","systemPresence":"Away"},` +
		`"message":"Back at 3pm \u2014 lunch with the \"Ops\" team","modifiedDate":"2026-03-14T09:26:53.589Z","primary":true,` +
		`"version":17,"selfUri":null}}`
)

func TestBenchFrame(t *testing.T) {
	m, err := refDecode([]byte(benchFrame))
	if err != nil || m.Kind != Event || len(m.Data) < 280 || len(m.Data) > 330 {
		t.Fatalf("bench frame: %d bytes of data, %v", len(m.Data), err)
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
