package notifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/gcnotify/notify/notifytest"
)

// tfMessage is a frame sent by the server on a token-frame socket.
type tfMessage struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
	raw   []byte
}

// tfReply is the data of a token-frame reply.
type tfReply struct {
	Status  int    `json:"status"`
	Topic   string `json:"topic"`
	Message string `json:"message"`
}

// tfDial opens a token-frame socket without authenticating it; it is
// closed when the test ends.
func (h *harness) tfDial() *websocket.Conn {
	h.t.Helper()
	c := dialURL(h.t, h, h.srv.TokenFrameURL())
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

// tfConnect opens a token-frame socket and authenticates it with tok.
func (h *harness) tfConnect(tok string) *websocket.Conn {
	h.t.Helper()
	c := h.tfDial()
	tfWrite(h.t, c, map[string]string{"access_token": tok})
	if m := tfRead(h.t, c); string(m.raw) != `{"event":"connected"}` {
		h.t.Fatalf("got %s, want connected", m.raw)
	}
	return c
}

func dialURL(t testing.TB, h *harness, u string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: h.hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tfWrite writes v, encoded as JSON, as a text frame.
func tfWrite(t testing.TB, c *websocket.Conn, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	write(t, c, string(b))
}

// tfRead reads the next frame of a token-frame socket.
func tfRead(t testing.TB, c *websocket.Conn) tfMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("read a %v message, want text", typ)
	}
	var m tfMessage
	decode(t, data, &m)
	m.raw = data
	return m
}

// tfReadReply reads the next frame, which must be a reply named event, and
// returns its data.
func tfReadReply(t testing.TB, c *websocket.Conn, event string) tfReply {
	t.Helper()
	m := tfRead(t, c)
	if m.Event != event {
		t.Fatalf("got %s, want a %q reply", m.raw, event)
	}
	var r tfReply
	decode(t, m.Data, &r)
	return r
}

// tfSubscribe subscribes c to topic and checks the reply.
func tfSubscribe(t testing.TB, c *websocket.Conn, topic string) {
	t.Helper()
	tfWrite(t, c, map[string]string{"topic": topic})
	if m := tfRead(t, c); string(m.raw) != `{"event":"subscribed","data":{"topic":"`+topic+`"}}` {
		t.Fatalf("got %s, want subscribed to %s", m.raw, topic)
	}
}

// expectRefusal reads an error frame about the connection, status 401,
// whose message does not contain secret, then the close with status 4001.
func expectRefusal(t testing.TB, c *websocket.Conn, secret string) tfReply {
	t.Helper()
	r := tfReadReply(t, c, "error")
	if r.Status != http.StatusUnauthorized || r.Topic != "" || r.Message == "" {
		t.Errorf("got %+v, want status 401 without a topic", r)
	}
	if secret != "" && strings.Contains(r.Message, secret) {
		t.Errorf("the error message %q contains the token", r.Message)
	}
	if err := readErr(t, c); websocket.CloseStatus(err) != 4001 {
		t.Errorf("got %v, want close status 4001", err)
	}
	return r
}

// nextSocket returns the next id of Sockets().
func nextSocket(t testing.TB, srv *notifytest.Server) string {
	t.Helper()
	select {
	case id := <-srv.Sockets():
		return id
	case <-time.After(timeout):
		t.Fatal("no socket reported")
		return ""
	}
}

func noSocket(t testing.TB, srv *notifytest.Server) {
	t.Helper()
	select {
	case id := <-srv.Sockets():
		t.Errorf("Sockets() gave %s, want nothing", id)
	default:
	}
}

// backgroundReader reads c until it fails, counting the frames and sending
// the first 100 on the returned channel, which is closed at the end. Reads
// with a deadline would close the socket; a concurrent reader also lets
// c.Ping receive pongs.
func backgroundReader(t testing.TB, c *websocket.Conn) (frames <-chan []byte, n *atomic.Int64) {
	ch := make(chan []byte, 100)
	n = new(atomic.Int64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			n.Add(1)
			select {
			case ch <- data:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		c.CloseNow()
		<-done
	})
	return ch, n
}

func TestTokenFrameURL(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	u := h.srv.TokenFrameURL()
	if want := "ws" + strings.TrimPrefix(h.srv.URL(), "http") + "/api/v2/notifications"; u != want ||
		!strings.HasPrefix(u, "ws://127.0.0.1:") {
		t.Fatalf("TokenFrameURL() = %q, want %q", u, want)
	}
}

func TestTokenFrameConnected(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	h.tfConnect(token)
	if id := nextSocket(t, h.srv); id != "tokenframe-1" {
		t.Errorf("Sockets() gave %s, want tokenframe-1", id)
	}
	conns := h.srv.TokenFrameConnections()
	if len(conns) != 1 || conns[0].ID != "tokenframe-1" || conns[0].Auths != 1 || conns[0].Topics != nil {
		t.Errorf("TokenFrameConnections() = %+v", conns)
	}
	if s := h.srv.Stats(); s.Sockets != 1 || s.Open != 1 || s.Reauths != 0 {
		t.Errorf("Stats() = %+v", s)
	}
	if len(h.srv.Channels()) != 0 {
		t.Errorf("a token-frame socket created a channel")
	}
}

func TestTokenFrameRefused(t *testing.T) {
	const secret = "s3cr3t-token"
	h := newHarness(t, notifytest.Config{
		Authorize: func(tok string) bool { return tok == token },
	})
	for _, tok := range []string{secret, ""} {
		c := h.tfDial()
		tfWrite(t, c, map[string]string{"access_token": tok})
		expectRefusal(t, c, tok)
	}
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })
	if s := h.srv.Stats(); s.Sockets != 2 {
		t.Errorf("Sockets = %d, want 2", s.Sockets)
	}
	if conns := h.srv.TokenFrameConnections(); len(conns) != 0 {
		t.Errorf("TokenFrameConnections() = %+v, want none", conns)
	}
	noSocket(t, h.srv)

	// The default Authorize refuses the empty token only.
	h = newHarness(t, notifytest.Config{})
	c := h.tfDial()
	tfWrite(t, c, map[string]string{"access_token": ""})
	expectRefusal(t, c, "")
	h.tfConnect(secret)
}

func TestTokenFrameFirstFrameNotToken(t *testing.T) {
	for name, send := range map[string]func(*websocket.Conn) error{
		"topic": func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte(`{"topic":"/users/1/presence"}`))
		},
		"garbage": func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte(`{"access_token":`))
		},
		"null": func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte(`{"access_token":null}`))
		},
		"number": func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageText, []byte(`{"access_token":7}`))
		},
		"binary": func(c *websocket.Conn) error {
			return c.Write(context.Background(), websocket.MessageBinary, []byte(`{"access_token":"token"}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, notifytest.Config{})
			c := h.tfDial()
			if err := send(c); err != nil {
				t.Fatal(err)
			}
			expectRefusal(t, c, "")
			if conns := h.srv.TokenFrameConnections(); len(conns) != 0 {
				t.Errorf("TokenFrameConnections() = %+v, want none", conns)
			}
		})
	}
}

func TestTokenFrameAuthTimeout(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	notifytest.SetAuthTimeout(h.srv, 20*time.Millisecond)
	c := h.tfDial()
	expectRefusal(t, c, "")
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })

	// A socket that authenticates in time stays open past the timeout.
	// (The timeout is long enough for the token to arrive in time even on a
	// loaded machine.)
	const long = 300 * time.Millisecond
	notifytest.SetAuthTimeout(h.srv, long)
	c = h.tfConnect(token)
	frames, _ := backgroundReader(t, c)
	select {
	case f := <-frames:
		t.Fatalf("got %s after authenticating", f)
	case <-time.After(long + 100*time.Millisecond):
	}
	tfWrite(t, c, map[string]string{"topic": "t"})
	if f := <-frames; string(f) != `{"event":"subscribed","data":{"topic":"t"}}` {
		t.Fatalf("got %s, want subscribed", f)
	}
}

func TestTokenFrameSubscribe(t *testing.T) {
	const refused = "/users/2/presence"
	h := newHarness(t, notifytest.Config{
		Permit: func(topic string) (bool, string, []string) {
			if topic == refused {
				return false, "Not allowed", []string{"presence:view"}
			}
			return true, "", nil
		},
	})
	c := h.tfConnect(token)
	id := nextSocket(t, h.srv)

	for _, topic := range []string{"/users/1/presence", refused, "/users/3/presence"} {
		tfWrite(t, c, map[string]string{"topic": topic})
	}
	if r := tfReadReply(t, c, "subscribed"); r.Topic != "/users/1/presence" {
		t.Errorf("subscribed %+v, want /users/1/presence", r)
	}
	if r := tfReadReply(t, c, "error"); r.Status != http.StatusForbidden || r.Topic != refused ||
		!strings.Contains(r.Message, "Not allowed") || !strings.Contains(r.Message, "presence:view") {
		t.Errorf("error %+v, want 403 for %s", r, refused)
	}
	if r := tfReadReply(t, c, "subscribed"); r.Topic != "/users/3/presence" {
		t.Errorf("subscribed %+v, want /users/3/presence", r)
	}
	want := []string{"/users/1/presence", "/users/3/presence"}
	if got := h.srv.Subscriptions(id); !slices.Equal(got, want) {
		t.Errorf("Subscriptions(%s) = %v, want %v", id, got, want)
	}

	// Empty topics and unknown frames are ignored: the next reply is about
	// the next frame.
	write(t, c, `{"topic":""}`)
	write(t, c, `{"unsubscribe":""}`)
	write(t, c, `{"hello":"world"}`)
	write(t, c, `not json`)
	write(t, c, `{"topic":7}`)
	if err := c.Write(context.Background(), websocket.MessageBinary, []byte(`{"topic":"/b"}`)); err != nil {
		t.Fatal(err)
	}

	// A duplicate subscription is answered and counted.
	tfSubscribe(t, c, "/users/1/presence")
	if s := h.srv.Stats(); s.DuplicateSubscribes != 1 {
		t.Errorf("DuplicateSubscribes = %d, want 1", s.DuplicateSubscribes)
	}

	// Unsubscribing is answered, subscribed or not.
	for _, topic := range []string{"/users/3/presence", "/users/9/presence"} {
		tfWrite(t, c, map[string]string{"unsubscribe": topic})
		if m := tfRead(t, c); string(m.raw) != `{"event":"unsubscribed","data":{"topic":"`+topic+`"}}` {
			t.Errorf("got %s, want unsubscribed from %s", m.raw, topic)
		}
	}
	want = []string{"/users/1/presence"}
	if got := h.srv.Subscriptions(id); !slices.Equal(got, want) {
		t.Errorf("Subscriptions(%s) = %v, want %v", id, got, want)
	}
	if _, n := h.srv.Publish("/users/3/presence", 1); n != 0 {
		t.Errorf("delivered %d for an unsubscribed topic", n)
	}
}

func TestTokenFrameMaxTopics(t *testing.T) {
	h := newHarness(t, notifytest.Config{MaxTopics: 2})
	c := h.tfConnect(token)
	id := nextSocket(t, h.srv)
	tfSubscribe(t, c, "a")
	tfSubscribe(t, c, "b")
	tfWrite(t, c, map[string]string{"topic": "c"})
	if r := tfReadReply(t, c, "error"); r.Status != http.StatusBadRequest || r.Topic != "c" || r.Message == "" {
		t.Errorf("error %+v, want 400 for c", r)
	}
	tfSubscribe(t, c, "a") // a duplicate does not count
	if got := h.srv.Subscriptions(id); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Subscriptions = %v", got)
	}
}

func TestTokenFramePublish(t *testing.T) {
	x := presenceOf("x") // on both protocols
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	a := h.tfConnect(token)
	b := h.tfConnect(token)
	tfSubscribe(t, a, x)
	tfSubscribe(t, b, "y")
	ch := h.create(token)
	cc := h.dial(ch)
	h.put(ch.ID, x)

	cid, n := h.srv.Publish(x, map[string]string{"presence": "Available"})
	if n != 2 {
		t.Fatalf("delivered %d, want 2", n)
	}
	if m := tfRead(t, a); string(m.raw) != `{"event":"`+x+`","data":{"presence":"Available"}}` {
		t.Errorf("token-frame socket got %s", m.raw)
	}
	if e := readEvent(t, cc); e.TopicName != x || e.Metadata.CorrelationID != cid {
		t.Errorf("channel socket got %s, want CorrelationId %s", e.raw, cid)
	}

	// Raw JSON passes through verbatim; b gets only its own topic.
	if _, n := h.srv.Publish("y", json.RawMessage(`{ "a" : [1, 2] }`)); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if m := tfRead(t, b); string(m.raw) != `{"event":"y","data":{ "a" : [1, 2] }}` {
		t.Errorf("got %s, want the y event verbatim", m.raw)
	}
	if _, n := h.srv.Publish("z", 1); n != 0 {
		t.Errorf("delivered %d for a topic nobody has", n)
	}
	h.srv.Publish(x, "last")
	if m := tfRead(t, a); string(m.raw) != `{"event":"`+x+`","data":"last"}` {
		t.Errorf("got %s, want the last x event", m.raw)
	}
	if s := h.srv.Stats(); s.Published != 5 {
		t.Errorf("Published = %d, want 5", s.Published)
	}
}

func TestTokenFrameReauth(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	id := nextSocket(t, h.srv)
	tfSubscribe(t, c, "a")
	tfSubscribe(t, c, "b")

	for i := range 2 {
		tfWrite(t, c, map[string]string{"access_token": "token" + strconv.Itoa(i)})
		if m := tfRead(t, c); string(m.raw) != `{"event":"connected"}` {
			t.Fatalf("got %s, want connected", m.raw)
		}
	}
	conns := h.srv.TokenFrameConnections()
	if len(conns) != 1 || conns[0].ID != id || conns[0].Auths != 3 || !slices.Equal(conns[0].Topics, []string{"a", "b"}) {
		t.Errorf("TokenFrameConnections() = %+v", conns)
	}
	if s := h.srv.Stats(); s.Reauths != 2 || s.Sockets != 1 {
		t.Errorf("Stats() = %+v, want 2 reauths on 1 socket", s)
	}
	noSocket(t, h.srv) // reported once
	if _, n := h.srv.Publish("b", 1); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if m := tfRead(t, c); string(m.raw) != `{"event":"b","data":1}` {
		t.Errorf("got %s", m.raw)
	}
}

func TestTokenFrameReauthRefused(t *testing.T) {
	const revoked = "revoked-token"
	h := newHarness(t, notifytest.Config{
		Authorize: func(tok string) bool { return tok != "" && tok != revoked },
	})
	c := h.tfConnect(token)
	tfSubscribe(t, c, "a")
	tfWrite(t, c, map[string]string{"access_token": revoked})
	expectRefusal(t, c, revoked)
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })
	if conns := h.srv.TokenFrameConnections(); len(conns) != 0 {
		t.Errorf("TokenFrameConnections() = %+v, want none", conns)
	}
	if s := h.srv.Stats(); s.Reauths != 0 {
		t.Errorf("Reauths = %d, want 0", s.Reauths)
	}
	if _, n := h.srv.Publish("a", 1); n != 0 {
		t.Errorf("delivered %d to a refused socket", n)
	}
}

func TestExpireTokens(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	a := h.tfConnect(token)
	b := h.tfConnect(token)
	pending := h.tfDial() // not authenticated yet
	cc := h.dial(h.create(token))
	waitFor(t, "4 open sockets", func() bool { return h.srv.Stats().Open == 4 })

	h.srv.ExpireTokens()
	for _, c := range []*websocket.Conn{a, b, pending} {
		if m := tfRead(t, c); string(m.raw) != `{"event":"error","data":{"status":401,"message":"token expired"}}` {
			t.Errorf("got %s, want token expired", m.raw)
		}
		err := readErr(t, c)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4001 {
			t.Errorf("got %v, want close status 4001", err)
		}
	}
	waitFor(t, "only the channel socket open", func() bool { return h.srv.Stats().Open == 1 })
	if conns := h.srv.TokenFrameConnections(); len(conns) != 0 {
		t.Errorf("TokenFrameConnections() = %+v, want none", conns)
	}
	// The channel socket is not affected.
	ping(t, cc)
	if e := read(t, cc); string(e.EventBody) != `{"message":"pong"}` {
		t.Errorf("got %s, want a pong", e.raw)
	}
}

func TestTokenFrameDropAll(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	tfSubscribe(t, c, "a")
	h.srv.DropAll()
	if err := readErr(t, c); websocket.CloseStatus(err) != -1 {
		t.Fatalf("got %v, want an abrupt close", err)
	}
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })
	if conns := h.srv.TokenFrameConnections(); len(conns) != 0 {
		t.Errorf("TokenFrameConnections() = %+v, want none", conns)
	}
	if _, n := h.srv.Publish("a", 1); n != 0 {
		t.Errorf("delivered %d to a dropped socket", n)
	}
}

func TestTokenFrameCloseAll(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	a, b := h.tfConnect(token), h.tfConnect(token)
	h.srv.CloseAll(websocket.StatusGoingAway, "maintenance")
	for _, c := range []*websocket.Conn{a, b} {
		err := readErr(t, c)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "maintenance" {
			t.Errorf("got %v, want close %v", err, websocket.StatusGoingAway)
		}
	}
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })
}

func TestTokenFrameStall(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	id := nextSocket(t, h.srv)
	tfSubscribe(t, c, "a")
	// The count follows the write that the client may already have read.
	waitFor(t, "2 frames written", func() bool { return notifytest.FramesWritten(h.srv, id) == 2 })
	const written = 2

	h.srv.Stall()
	frames, _ := backgroundReader(t, c)
	if _, n := h.srv.Publish("a", 1); n != 0 {
		t.Errorf("Publish delivered %d to a stalled socket", n)
	}
	h.srv.SendRaw(id, []byte("raw"))
	tfWrite(t, c, map[string]string{"topic": "b"})
	tfWrite(t, c, map[string]string{"access_token": token})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ping on a stalled socket: %v, want a timeout", err)
	}
	select {
	case f := <-frames:
		t.Fatalf("got %s from a stalled socket", f)
	default:
	}
	if w := notifytest.FramesWritten(h.srv, id); w != written {
		t.Errorf("%d frames written after Stall", w-written)
	}
	// The frames the client sent are lost.
	if got := h.srv.Subscriptions(id); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Subscriptions = %v, want [a]", got)
	}
	if s := h.srv.Stats(); s.Open != 1 || s.Reauths != 0 {
		t.Errorf("Stats() = %+v", s)
	}

	// A socket opened later works normally.
	c2 := h.tfConnect(token)
	tfSubscribe(t, c2, "a")
	if _, n := h.srv.Publish("a", 2); n != 1 {
		t.Errorf("Publish delivered %d, want 1", n)
	}
	if m := tfRead(t, c2); string(m.raw) != `{"event":"a","data":2}` {
		t.Errorf("got %s", m.raw)
	}

	// Closing the stalled socket is abrupt.
	h.srv.ExpireTokens()
	for f := range frames {
		t.Errorf("got %s from a stalled socket", f)
	}
	expectRefusal(t, c2, "")
}

func TestTokenFrameSendRaw(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	id := nextSocket(t, h.srv)
	h.srv.SendRaw(id, []byte("not json {"))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(data) != "not json {" {
		t.Fatalf("got %v %q %v, want the raw text frame", typ, data, err)
	}
	h.srv.SendRaw("tokenframe-99", []byte("x")) // no-op
}

func TestTokenFrameConnections(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	refused := h.tfDial() // tokenframe-1, never authenticated
	tfWrite(t, refused, map[string]string{"access_token": ""})
	expectRefusal(t, refused, "")

	var conns []*websocket.Conn
	for i := range 3 {
		c := h.tfConnect(token)
		conns = append(conns, c)
		if id, want := nextSocket(t, h.srv), "tokenframe-"+strconv.Itoa(i+2); id != want {
			t.Errorf("Sockets() gave %s, want %s", id, want)
		}
		tfSubscribe(t, c, "t"+strconv.Itoa(i))
	}
	tfSubscribe(t, conns[2], "a")
	got := h.srv.TokenFrameConnections()
	want := []notifytest.Connection{
		{ID: "tokenframe-2", Topics: []string{"t0"}, Auths: 1},
		{ID: "tokenframe-3", Topics: []string{"t1"}, Auths: 1},
		{ID: "tokenframe-4", Topics: []string{"a", "t2"}, Auths: 1},
	}
	if !slices.EqualFunc(got, want, func(a, b notifytest.Connection) bool {
		return a.ID == b.ID && a.Auths == b.Auths && slices.Equal(a.Topics, b.Topics)
	}) {
		t.Errorf("TokenFrameConnections() = %+v, want %+v", got, want)
	}
	if s := h.srv.Subscriptions("tokenframe-4"); !slices.Equal(s, []string{"a", "t2"}) {
		t.Errorf("Subscriptions(tokenframe-4) = %v", s)
	}
	if s := h.srv.Subscriptions("tokenframe-1"); s != nil {
		t.Errorf("Subscriptions of a refused socket = %v", s)
	}

	// A socket closed by its client leaves the list.
	if err := conns[1].Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFor(t, "tokenframe-3 to be gone", func() bool {
		return len(h.srv.TokenFrameConnections()) == 2 && h.srv.Stats().Open == 2
	})
	if s := h.srv.Subscriptions("tokenframe-3"); s != nil {
		t.Errorf("Subscriptions of a closed socket = %v", s)
	}
}

func TestTokenFrameWebSocketPing(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	c.CloseRead(context.Background()) // reads the pong
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// A client that read "subscribed" gets every later Publish.
func TestTokenFrameSubscribeThenPublish(t *testing.T) {
	h := newHarness(t, notifytest.Config{MaxTopics: 1000})
	c := h.tfConnect(token)
	for i := range 300 {
		topic := "/users/" + strconv.Itoa(i) + "/presence"
		tfSubscribe(t, c, topic)
		if _, n := h.srv.Publish(topic, i); n != 1 {
			t.Fatalf("iteration %d: delivered %d, want 1", i, n)
		}
		if m := tfRead(t, c); m.Event != topic || string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("iteration %d: got %s", i, m.raw)
		}
		if i%10 == 0 {
			// And on a new socket, right after it connected.
			c.CloseNow()
			c = h.tfConnect(token)
		}
	}
}

// A pong follows every frame written before its ping was read, so a
// client can drain a socket with a Ping.
func TestTokenFramePongAfterEvents(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	tfSubscribe(t, c, "t")
	_, n := backgroundReader(t, c)
	base := n.Load()

	var wg sync.WaitGroup
	var published atomic.Int64
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, d := h.srv.Publish("t", 1); d != 1 {
				t.Errorf("delivered %d, want 1", d)
				return
			}
			published.Add(1)
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for range 200 {
		// Every Publish that returned before the ping was sent was written
		// before the ping was read.
		before := published.Load()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := c.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
		if got := n.Load() - base; got < before {
			t.Fatalf("pong before %d events, %d read", before, got)
		}
	}
}

func TestTokenFrameCloseServer(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := notifytest.NewServer(notifytest.Config{})
	tr := &http.Transport{}
	h := &harness{t: t, srv: srv, hc: &http.Client{Transport: tr}}

	stalled := dialURL(t, h, srv.TokenFrameURL())
	defer stalled.CloseNow()
	tfWrite(t, stalled, map[string]string{"access_token": token})
	tfRead(t, stalled)
	nextSocket(t, srv)
	srv.Stall()
	authed := dialURL(t, h, srv.TokenFrameURL())
	defer authed.CloseNow()
	tfWrite(t, authed, map[string]string{"access_token": token})
	tfRead(t, authed)
	tfSubscribe(t, authed, "t")
	nextSocket(t, srv)
	pending := dialURL(t, h, srv.TokenFrameURL()) // never sends its token
	defer pending.CloseNow()
	// A socket that never reads, closed with a handshake it never answers.
	unread := dialURL(t, h, srv.TokenFrameURL())
	defer unread.CloseNow()
	tfWrite(t, unread, map[string]string{"access_token": token})
	nextSocket(t, srv)
	srv.CloseAll(websocket.StatusGoingAway, "")

	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, c := range []*websocket.Conn{authed, stalled, pending} {
		if err := readErr(t, c); err == nil {
			t.Fatal("socket still open")
		}
	}
	if s := srv.Stats(); s.Open != 0 {
		t.Errorf("%d sockets open after Close", s.Open)
	}
	if conns := srv.TokenFrameConnections(); len(conns) != 0 {
		t.Errorf("TokenFrameConnections() = %+v after Close", conns)
	}
	if _, n := srv.Publish("t", 1); n != 0 {
		t.Errorf("Publish after Close delivered %d", n)
	}
	srv.ExpireTokens() // no-op

	for _, c := range []*websocket.Conn{authed, stalled, pending, unread} {
		c.CloseNow()
	}
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

// heldPublish publishes body on topic in the background, holding the
// Publish after it chose its sockets until the returned release is called.
// pongWait receives the id of each socket that read a ping and waits for
// the held frames. The Publish has ended when the test ends.
func heldPublish(t *testing.T, srv *notifytest.Server, topic string, body any) (release func(), pongWait <-chan string, delivered <-chan int) {
	reserved := make(chan struct{})
	held := make(chan struct{})
	waiting := make(chan string, 16)
	var once sync.Once
	notifytest.SetPublishHooks(srv,
		func(string) {
			once.Do(func() {
				close(reserved)
				<-held
			})
		},
		func(id string) { waiting <- id },
	)
	release = sync.OnceFunc(func() { close(held) })
	result := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, n := srv.Publish(topic, body)
		result <- n
	}()
	t.Cleanup(func() {
		release()
		<-done
	})
	select {
	case <-reserved:
	case <-time.After(timeout):
		t.Fatal("Publish did not choose its sockets")
	}
	return release, waiting, result
}

// A ping read while a Publish that chose the socket has not written its
// frame yet is answered after that frame.
func TestTokenFramePongWaitsForPublish(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	c := h.tfConnect(token)
	id := nextSocket(t, h.srv)
	tfSubscribe(t, c, "t")
	_, n := backgroundReader(t, c)
	base := n.Load()

	release, pongWait, delivered := heldPublish(t, h.srv, "t", 1)
	pinged := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		pinged <- c.Ping(ctx)
	}()
	select {
	case got := <-pongWait:
		if got != id {
			t.Errorf("socket %s waits, want %s", got, id)
		}
	case <-time.After(timeout):
		t.Fatal("the ping did not wait for the held Publish")
	}
	select {
	case err := <-pinged:
		t.Fatalf("ping answered (%v) before the held Publish wrote", err)
	default:
	}
	release()
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
	if got := n.Load() - base; got != 1 {
		t.Fatalf("%d frames read before the pong, want the event", got)
	}
	if d := <-delivered; d != 1 {
		t.Errorf("delivered %d, want 1", d)
	}
}
