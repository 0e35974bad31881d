package notifytest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/notifytest"
)

func TestPublish(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, "v2.users.1.presence")

	type presence struct {
		Presence string `json:"presence"`
	}
	cid, n := h.srv.Publish("v2.users.1.presence", presence{"Available"})
	if n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	e := readEvent(t, c)
	if e.TopicName != "v2.users.1.presence" || e.Version != "2" || e.Metadata.CorrelationID != cid {
		t.Errorf("got %s, want topic, version 2 and CorrelationId %s", e.raw, cid)
	}
	if string(e.EventBody) != `{"presence":"Available"}` {
		t.Errorf("eventBody %s", e.EventBody)
	}

	// Raw JSON passes through verbatim.
	h.srv.Publish("v2.users.1.presence", json.RawMessage(`{ "a" : [1, 2] }`))
	if e := readEvent(t, c); !bytes.Contains(e.raw, []byte(`"eventBody":{ "a" : [1, 2] },`)) {
		t.Errorf("RawMessage not verbatim: %s", e.raw)
	}
	h.srv.Publish("v2.users.1.presence", []byte(`[true ,null]`))
	if e := readEvent(t, c); !bytes.Contains(e.raw, []byte(`"eventBody":[true ,null],`)) {
		t.Errorf("[]byte not verbatim: %s", e.raw)
	}

	// Other topics do not reach the socket.
	if _, n := h.srv.Publish("v2.users.1.presenc", 1); n != 0 {
		t.Errorf("delivered %d for an unsubscribed topic", n)
	}
	h.srv.Publish("v2.users.1.presence", "last")
	if e := readEvent(t, c); string(e.EventBody) != `"last"` {
		t.Errorf("got %s, want the last event", e.raw)
	}
	if s := h.srv.Stats(); s.Published != 4 {
		t.Errorf("Published = %d, want 4", s.Published)
	}
}

func TestPublishInvalidBodyPanics(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	for _, body := range []any{[]byte("{"), json.RawMessage("nope"), make(chan int)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Publish(%v) did not panic", body)
				}
			}()
			h.srv.Publish("t", body)
		}()
	}
}

func TestPublishCorrelationIDs(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	var conns []*websocket.Conn
	for range 3 {
		ch := h.create(token)
		conns = append(conns, h.dial(ch))
		h.put(ch.ID, presenceOf("u"))
	}

	seen := map[string]bool{}
	for i := range 50 {
		cid, n := h.srv.Publish(presenceOf("u"), i)
		if n != len(conns) {
			t.Fatalf("delivered %d, want %d", n, len(conns))
		}
		if seen[cid] {
			t.Fatalf("CorrelationId %s reused", cid)
		}
		seen[cid] = true
		for _, c := range conns {
			if e := readEvent(t, c); e.Metadata.CorrelationID != cid || string(e.EventBody) != strconv.Itoa(i) {
				t.Fatalf("got %s, want event %d with CorrelationId %s", e.raw, i, cid)
			}
		}
	}
}

func TestPublishConcurrent(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: time.Millisecond})
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, presenceOf("a"), presenceOf("b"), presenceOf("c"))

	const per = 100
	topics := []string{presenceOf("a"), presenceOf("b"), presenceOf("c")}
	var wg sync.WaitGroup
	for _, topic := range topics {
		wg.Go(func() {
			for i := range per {
				if _, n := h.srv.Publish(topic, i); n != 1 {
					t.Errorf("delivered %d, want 1", n)
					return
				}
			}
		})
	}

	// The events of each publishing goroutine arrive in order.
	next := map[string]int{}
	for range per * len(topics) {
		e := readEvent(t, c)
		var i int
		decode(t, e.EventBody, &i)
		if i != next[e.TopicName] {
			t.Fatalf("topic %s: got event %d, want %d", e.TopicName, i, next[e.TopicName])
		}
		next[e.TopicName]++
	}
	wg.Wait()
	if s := h.srv.Stats(); s.Published != per*len(topics) {
		t.Errorf("Published = %d, want %d", s.Published, per*len(topics))
	}
}

func TestHeartbeat(t *testing.T) {
	const interval = 20 * time.Millisecond
	h := newHarness(t, notifytest.Config{HeartbeatInterval: interval})
	ch := h.create(token)

	start := time.Now()
	c := h.dial(ch)
	for i := range 5 {
		e := read(t, c)
		if string(e.raw) != `{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}` {
			t.Fatalf("frame %d: got %s, want a heartbeat", i, e.raw)
		}
	}
	if d := time.Since(start); d < 5*interval {
		t.Errorf("5 heartbeats in %v, want at least %v", d, 5*interval)
	}
}

func TestHeartbeatDisabled(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := h.dial(h.create(token))
	expectSilence(t, c, 100*time.Millisecond)
}

func TestPingPong(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := h.dial(h.create(token))

	// Frames other than a ping are ignored: the pong is the first answer.
	write(t, c, "garbage")
	write(t, c, `{"message":"hello"}`)
	write(t, c, `{"message":"PING"}`)
	if err := c.Write(context.Background(), websocket.MessageBinary, []byte(`{"message":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ping(t, c)
		if e := read(t, c); string(e.raw) != `{"topicName":"channel.metadata","eventBody":{"message":"pong"}}` {
			t.Fatalf("got %s, want a pong", e.raw)
		}
	}
}

func TestWebSocketPing(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := h.dial(h.create(token))
	c.CloseRead(context.Background()) // reads the pong
	pctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Ping(pctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestSocketsChannel(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	h.dial(ch)
	select {
	case id := <-h.srv.Sockets():
		if id != ch.ID {
			t.Fatalf("Sockets() gave %s, want %s", id, ch.ID)
		}
	case <-time.After(timeout):
		t.Fatal("no socket reported")
	}
	if s := h.srv.Stats(); s.Sockets != 1 || s.Open != 1 {
		t.Errorf("Stats() = %+v", s)
	}
	if c := h.srv.Channels()[0]; !c.Connected {
		t.Errorf("channel not connected: %+v", c)
	}
}

func TestDialUnknownChannel(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	u := strings.Replace(ch.ConnectURI, ch.ID, "streaming-0-unknown", 1)
	_, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: h.hc})
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("dial unknown channel: %v, %v", resp, err)
	}
	// The answer is a Genesys error, not text.
	body, _ := readAll(resp)
	checkError(t, resp, body, http.StatusNotFound, "not.found")
}

func TestReplaceSocket(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("t"))
	first := h.dial(ch)
	<-h.srv.Sockets()
	second := h.dial(ch)

	err := readErr(t, first)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "replaced by a new connection" {
		t.Fatalf("first socket: %v, want close 4000", err)
	}
	if _, n := h.srv.Publish(presenceOf("t"), 1); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if e := readEvent(t, second); string(e.EventBody) != "1" {
		t.Errorf("second socket got %s", e.raw)
	}
	waitFor(t, "one open socket", func() bool { return h.srv.Stats().Open == 1 })
	if s := h.srv.Stats(); s.Sockets != 2 {
		t.Errorf("Sockets = %d, want 2", s.Sockets)
	}
}

func TestClientClose(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ch := h.create(token)
	c := h.dial(ch)
	<-h.srv.Sockets()
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFor(t, "the socket to be gone", func() bool {
		return h.srv.Stats().Open == 0 && !h.srv.Channels()[0].Connected
	})
	// The channel outlives its socket.
	h.dial(ch)
	<-h.srv.Sockets()
}

func TestReadLimit(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := h.dial(h.create(token))
	big := `{"message":"` + strings.Repeat("x", 1<<20) + `"}`
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c.Write(ctx, websocket.MessageText, []byte(big)) // may fail once the server closed
	if err := readErr(t, c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("got %v, want close status %v", err, websocket.StatusMessageTooBig)
	}
}
