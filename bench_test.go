package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
)

const benchTopic = "v2.routing.queues.fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d.conversations"

// benchBody is a 300-byte conversation event body.
const benchBody = `{"id":"5c6b7a8d-1e2f-4a3b-9c8d-7e6f5a4b3c2d","participants":[{"id":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",` +
	`"purpose":"customer","queueId":"fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d","calls":[{"state":"alerting","direction":"inbound",` +
	`"connectedTime":"2026-11-27T09:26:53.589Z"}]}],"recordingState":"none","maxParticipants":2}`

// firehose serves one WebSocket that writes frame until the client goes.
func firehose(b *testing.B, frame []byte) *websocket.Conn {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		// A context that never ends: coder/websocket would watch a
		// cancellable one with an allocation per write.
		for c.Write(context.Background(), websocket.MessageText, frame) == nil {
		}
	}))
	b.Cleanup(srv.Close)
	conn, _, err := websocket.Dial(b.Context(), "ws"+srv.URL[4:], nil)
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

// deliver runs the hot path: read a frame, decode it, push it through the
// outbox and receive it as the consumer would.
func deliver(b *testing.B, l link) {
	out := newOutbox(1024)
	b.ReportAllocs()
	for b.Loop() {
		f, err := l.read()
		if err != nil || f.kind != frameEvent {
			b.Fatalf("read: %v, %+v", err, f)
		}
		out.push(f.n)
		<-out.ch
	}
	l.close()
}

// BenchmarkDeliver measures the decode-and-deliver path per event,
// including its allocations (the server's are counted too: it writes the
// same frame without allocating).
func BenchmarkDeliver(b *testing.B) {
	ctx := context.Background()
	cfg := defaultConfig()
	b.Run("genesys", func(b *testing.B) {
		frame := []byte(`{"topicName":"` + benchTopic + `","version":"2","eventBody":` + benchBody +
			`,"metadata":{"CorrelationId":"9e80b7c2-4d1a-4c3b-8e2f-5a6b7c8d9e0f"}}`)
		l := &genesysLink{socket: newSocket(ctx, firehose(b, frame), cfg.readLimit), ch: &channelState{}}
		l.dec.Intern([]string{benchTopic})
		b.SetBytes(int64(len(frame)))
		deliver(b, l)
	})
	b.Run("tokenframe", func(b *testing.B) {
		frame := []byte(`{"event":"` + benchTopic + `","data":` + benchBody + `}`)
		l := &tokenFrameLink{socket: newSocket(ctx, firehose(b, frame), cfg.readLimit)}
		l.dec.Intern([]string{benchTopic})
		b.SetBytes(int64(len(frame)))
		deliver(b, l)
	})
}
