package notify

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/wire"
)

const benchTopic = "v2.routing.queues.fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d.conversations"

// benchBody is a 300-byte conversation event body.
const benchBody = `{"id":"5c6b7a8d-1e2f-4a3b-9c8d-7e6f5a4b3c2d","participants":[{"id":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",` +
	`"purpose":"customer","queueId":"fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d","calls":[{"state":"alerting","direction":"inbound",` +
	`"connectedTime":"2026-11-27T09:26:53.589Z"}]}],"recordingState":"none","maxParticipants":2}`

// firehose writes frame until the client goes. A context that never ends:
// coder/websocket would watch a cancellable one with an allocation per
// write.
func firehose(c *websocket.Conn, frame []byte) {
	defer c.CloseNow()
	for c.Write(context.Background(), websocket.MessageText, frame) == nil {
	}
}

// genesysFirehose serves one channel whose socket writes frame without end.
func genesysFirehose(b *testing.B, frame []byte) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			fmt.Fprintf(w, `{"id":"c","connectUri":"ws%s/channels/c","expires":"2099-01-01T00:00:00Z"}`, strings.TrimPrefix(srv.URL, "http"))
		case r.Method == http.MethodPut:
			fmt.Fprintf(w, `{"entities":[{"id":%q,"state":"Permitted"}]}`, benchTopic)
		default:
			c, err := websocket.Accept(w, r, nil)
			if err == nil {
				firehose(c, frame)
			}
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

// tokenFrameFirehose answers the token-frame handshake, then writes frame
// without end.
func tokenFrameFirehose(b *testing.B, frame []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx := context.Background()
		if _, _, err := c.Read(ctx); err != nil { // the token
			return
		}
		c.Write(ctx, websocket.MessageText, []byte(`{"event":"connected"}`))
		if _, _, err := c.Read(ctx); err != nil { // the topic
			return
		}
		c.Write(ctx, websocket.MessageText, []byte(`{"event":"subscribed","data":{"topic":"`+benchTopic+`"}}`))
		firehose(c, frame)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// deliver runs the hot path: read a frame, decode it, push it through the
// outbox and receive it as the consumer would.
func deliver(b *testing.B, opts ...Option) {
	c, err := New(testToken, opts...)
	if err != nil {
		b.Fatal(err)
	}
	conn, _, err := c.newProtocol(1).Dial(b.Context(), []string{benchTopic}, wire.Transient, nil)
	if err != nil {
		b.Fatal(err)
	}
	out := newOutbox(1024)
	out.trace = c.cfg.trace
	b.ReportAllocs()
	for b.Loop() {
		f, err := conn.Next()
		if err != nil || f.Kind != wire.Notify {
			b.Fatalf("read: %v, %+v", err, f)
		}
		out.push(notification(f.Event))
		<-out.ch
	}
	conn.Close()
}

// BenchmarkDeliver measures the decode-and-deliver path per event,
// including its allocations (the server's are counted too: it writes the
// same frame without allocating): without a trace, with a Trace whose
// hooks are all nil, and with a Delivered hook that counts.
func BenchmarkDeliver(b *testing.B) {
	var delivered atomic.Int64
	for _, tr := range []struct {
		name  string
		trace *Trace
	}{
		{"genesys", nil},
		{"genesys-trace-without-hooks", &Trace{}},
		{"genesys-trace-counting", &Trace{Delivered: func(DeliveredInfo) { delivered.Add(1) }}},
	} {
		b.Run(tr.name, func(b *testing.B) {
			frame := []byte(`{"topicName":"` + benchTopic + `","version":"2","eventBody":` + benchBody +
				`,"metadata":{"CorrelationId":"9e80b7c2-4d1a-4c3b-8e2f-5a6b7c8d9e0f"}}`)
			b.SetBytes(int64(len(frame)))
			deliver(b, WithAPIBaseURL(genesysFirehose(b, frame).URL), WithTrace(tr.trace))
		})
	}
	b.Run("tokenframe", func(b *testing.B) {
		frame := []byte(`{"event":"` + benchTopic + `","data":` + benchBody + `}`)
		b.SetBytes(int64(len(frame)))
		deliver(b, WithTokenFrameEndpoint("ws"+strings.TrimPrefix(tokenFrameFirehose(b, frame).URL, "http")))
	})
}
