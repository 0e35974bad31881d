package notifytest_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/gcnotify/notify/notifytest"
)

func TestDropAll(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	<-h.srv.Sockets()

	h.srv.DropAll()
	err := readErr(t, c)
	if websocket.CloseStatus(err) != -1 {
		t.Fatalf("got %v, want an abrupt close", err)
	}
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })
	// The channel remains.
	h.doStatus(http.StatusOK, http.MethodHead, channelsPath+"/"+ch.ID, "")
}

func TestCloseAll(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	a, b := h.create(token), h.create(token)
	ca, cb := h.dial(a), h.dial(b)
	<-h.srv.Sockets()
	<-h.srv.Sockets()

	h.srv.CloseAll(websocket.StatusGoingAway, "maintenance")
	for _, c := range []*websocket.Conn{ca, cb} {
		err := readErr(t, c)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "maintenance" {
			t.Errorf("got %v, want close %v", err, websocket.StatusGoingAway)
		}
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("CloseStatus(%v) = %v", err, websocket.CloseStatus(err))
		}
	}
	waitFor(t, "no open socket", func() bool { return h.srv.Stats().Open == 0 })
	if len(h.srv.Channels()) != 2 {
		t.Errorf("channels removed")
	}
}

func TestStall(t *testing.T) {
	const interval = 20 * time.Millisecond
	h := newHarness(t, notifytest.Config{HeartbeatInterval: interval})
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, presenceOf("t"))
	got := 0
	for read(t, c).TopicName != "channel.metadata" {
		got++
	}
	got++

	h.srv.Stall()
	// Frames written before Stall returned may still be in flight; nothing
	// is written after.
	written := notifytest.FramesWritten(h.srv, ch.ID)
	for ; int64(got) < written; got++ {
		read(t, c)
	}
	if _, n := h.srv.Publish(presenceOf("t"), 1); n != 0 {
		t.Errorf("Publish delivered %d to a stalled socket", n)
	}
	h.srv.SendRaw(ch.ID, []byte("raw"))
	h.srv.SocketClosing(ch.ID)
	ping(t, c)

	// Read in the background: a read with a deadline would close the socket.
	frames := make(chan []byte, 16)
	go func() {
		defer close(frames)
		for {
			_, data, err := c.Read(context.Background())
			if err != nil {
				return
			}
			frames <- data
		}
	}()
	select {
	case f := <-frames:
		t.Fatalf("got %s from a stalled socket", f)
	case <-time.After(15 * interval):
	}
	if w := notifytest.FramesWritten(h.srv, ch.ID); w != written {
		t.Errorf("%d frames written after Stall", w-written)
	}
	if s := h.srv.Stats(); s.Open != 1 || !h.srv.Channels()[0].Connected {
		t.Errorf("stalled socket not open: %+v", s)
	}

	// A socket opened later works normally, and replaces the stalled one.
	c2 := h.dial(ch)
	ping(t, c2)
	for {
		if e := read(t, c2); string(e.EventBody) == `{"message":"pong"}` {
			break
		}
	}
	if _, n := h.srv.Publish(presenceOf("t"), 2); n != 1 {
		t.Errorf("Publish delivered %d, want 1", n)
	}
	// The replaced stalled socket is closed abruptly, without any frame.
	for f := range frames {
		t.Errorf("got %s from a stalled socket", f)
	}
	waitFor(t, "the stalled socket to close", func() bool { return h.srv.Stats().Open == 1 })
}

func TestStallWebSocketPing(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := h.dial(h.create(token))
	<-h.srv.Sockets()
	h.srv.Stall()
	c.CloseRead(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ping on a stalled socket: %v, want a timeout", err)
	}
}

func TestEvict(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, presenceOf("t"))

	h.srv.Evict(ch.ID)
	checkSystem(t, read(t, c), "v2.system.no_longer_subscribed."+ch.ID, "no_longer_subscribed", ch.ID)
	if err := readErr(t, c); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("got %v, want a normal close", err)
	}

	resp, _ := h.do(token, http.MethodHead, channelsPath+"/"+ch.ID, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD evicted channel: status %d", resp.StatusCode)
	}
	resp, body2 := h.do(token, http.MethodPut, subsPath(ch.ID), topicList(presenceOf("t")))
	checkError(t, resp, body2, http.StatusNotFound, "not.found")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, dresp, err := websocket.Dial(ctx, ch.ConnectURI, &websocket.DialOptions{HTTPClient: h.hc})
	if err == nil || dresp == nil || dresp.StatusCode != http.StatusNotFound {
		t.Errorf("dial evicted channel: %v", err)
	}
	if h.srv.Subscriptions(ch.ID) != nil || len(h.srv.Channels()) != 0 {
		t.Errorf("evicted channel still listed")
	}
	h.srv.Evict("streaming-0-unknown") // no-op
}

// checkSystem checks that e is the system message kind about the channel,
// with every field of a Genesys system message.
func checkSystem(t *testing.T, e event, topic, kind, channelID string) {
	t.Helper()
	if e.TopicName != topic || e.Version != "2" {
		t.Fatalf("got %s, want %s", e.raw, topic)
	}
	var b systemBody
	decode(t, e.EventBody, &b)
	if b.ChannelID != channelID || b.SystemTopicType != kind || b.CorrelationID == "" ||
		b.OrganizationID == "" || b.UserID == nil || b.OAuthClientID != "notifytest-client" ||
		b.Reason == "" || b.Message == "" || b.Data == nil {
		t.Errorf("eventBody %s, want every field of a %s message about %s", e.EventBody, kind, channelID)
	}
}

func TestSocketClosing(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	<-h.srv.Sockets()

	h.srv.SocketClosing(ch.ID)
	checkSystem(t, read(t, c), "v2.system.socket_closing", "socket_closing", ch.ID)
	// The socket is still served until the delay (a minute by default).
	ping(t, c)
	if e := read(t, c); string(e.EventBody) != `{"message":"pong"}` {
		t.Errorf("got %s, want a pong", e.raw)
	}
}

// A client that ignores the warning loses its socket; its channel and
// subscriptions remain.
func TestSocketClosingCloses(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, SocketClosingDelay: 20 * time.Millisecond})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("t"))
	c := h.dial(ch)
	<-h.srv.Sockets()

	h.srv.SocketClosing(ch.ID)
	checkSystem(t, read(t, c), "v2.system.socket_closing", "socket_closing", ch.ID)
	if err := readErr(t, c); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("got %v, want close status 1001", err)
	}
	waitFor(t, "the socket to close", func() bool { return h.srv.Stats().Open == 0 })
	if got := h.srv.Subscriptions(ch.ID); !slices.Equal(got, []string{presenceOf("t")}) {
		t.Fatalf("subscriptions %v, want [t]", got)
	}
	c2 := h.dial(ch)
	if err := h.srv.WaitSubscribed(t.Context(), presenceOf("t")); err != nil {
		t.Fatal(err)
	}
	if _, n := h.srv.Publish(presenceOf("t"), 1); n != 1 {
		t.Fatalf("delivered %d to the new socket, want 1", n)
	}
	if e := readEvent(t, c2); string(e.EventBody) != "1" {
		t.Errorf("got %s", e.raw)
	}
}

// The delayed close is for the warned socket only: a client that
// reconnected to its channel keeps the new socket.
func TestSocketClosingSparesNewSocket(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, SocketClosingDelay: 20 * time.Millisecond})
	warnDone := make(chan string, 1)
	notifytest.SetWarnHook(h.srv, func(id string) { warnDone <- id })
	ch := h.create(token)
	old := h.dial(ch)
	nextSocket(t, h.srv)
	h.srv.SocketClosing(ch.ID)
	read(t, old)
	c := h.dial(ch) // replaces the warned socket, before or after its close
	nextSocket(t, h.srv)
	readErr(t, old)
	select {
	case <-warnDone:
	case <-time.After(timeout):
		t.Fatal("the warned socket's wait did not end")
	}
	ping(t, c)
	if e := read(t, c); string(e.EventBody) != `{"message":"pong"}` {
		t.Fatalf("got %s, want a pong on the new socket", e.raw)
	}
}

// SocketClosingAll warns every channel socket at once and closes them
// all; token-frame sockets are not affected.
func TestSocketClosingAll(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, SocketClosingDelay: 20 * time.Millisecond})
	var chans []channelInfo
	var conns []*websocket.Conn
	for range 3 {
		ch := h.create(token)
		chans = append(chans, ch)
		conns = append(conns, h.dial(ch))
		nextSocket(t, h.srv)
	}
	tf := h.tfConnect(token)
	tfSubscribe(t, tf, "t")

	h.srv.SocketClosingAll()
	for i, c := range conns {
		checkSystem(t, read(t, c), "v2.system.socket_closing", "socket_closing", chans[i].ID)
	}
	for _, c := range conns {
		if err := readErr(t, c); websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("got %v, want close status 1001", err)
		}
	}
	waitFor(t, "only the token-frame socket open", func() bool { return h.srv.Stats().Open == 1 })
	if _, n := h.srv.Publish("t", 1); n != 1 {
		t.Fatalf("delivered %d to the token-frame socket, want 1", n)
	}
	if m := tfRead(t, tf); string(m.raw) != `{"event":"t","data":1}` {
		t.Errorf("got %s", m.raw)
	}
	if n := len(h.srv.Channels()); n != 3 {
		t.Errorf("%d channels, want 3: the channels remain", n)
	}
}

func TestFailUpgrades(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	h.srv.FailUpgrades(2, http.StatusServiceUnavailable)
	for _, u := range []string{ch.ConnectURI, h.srv.TokenFrameURL()} {
		_, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: h.hc})
		if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("dial %s: %v, %v, want 503", u, resp, err)
		}
		body, _ := readAll(resp)
		checkError(t, resp, body, http.StatusServiceUnavailable, "internal.server.error")
	}
	if s := h.srv.Stats(); s.Sockets != 0 {
		t.Errorf("%d sockets accepted", s.Sockets)
	}
	// REST is not affected, and the next upgrades succeed.
	h.put(ch.ID, presenceOf("t"))
	h.dial(ch)
	h.tfConnect(token)

	// n <= 0 cancels.
	h.srv.FailUpgrades(5, http.StatusTooManyRequests)
	h.srv.FailUpgrades(0, http.StatusTooManyRequests)
	h.dial(ch)
}

func TestTokenRevoked(t *testing.T) {
	const creator, refreshed = "creator-5f3a", "refreshed-5f3a"
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(creator)
	c := h.dial(ch)
	<-h.srv.Sockets()
	// A refreshed token used on the channel is revoked too.
	resp, _ := h.do(refreshed, http.MethodHead, channelsPath+"/"+ch.ID, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD with a refreshed token: status %d", resp.StatusCode)
	}
	other := h.create("other") // a token that has nothing to do with it

	h.srv.TokenRevoked(ch.ID)
	checkSystem(t, read(t, c), "v2.system.token_revoked."+ch.ID, "token_revoked", ch.ID)
	if err := readErr(t, c); websocket.CloseStatus(err) != 4001 {
		t.Errorf("got %v, want close status 4001", err)
	}
	resp, _ = h.do("fresh", http.MethodHead, channelsPath+"/"+ch.ID, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD revoked channel: status %d", resp.StatusCode)
	}

	// Revocation sticks: the creating and the last used tokens stay
	// refused, on REST and on token-frame sockets.
	for _, tok := range []string{creator, refreshed} {
		for range 2 {
			resp, body := h.do(tok, http.MethodPost, channelsPath, "")
			checkError(t, resp, body, http.StatusUnauthorized, "bad.credentials")
		}
		tc := h.tfDial()
		tfWrite(t, tc, map[string]string{"access_token": tok})
		expectRefusal(t, tc, tok)
	}
	// Other tokens and tokens seen later are accepted.
	if resp, _ := h.do("other", http.MethodHead, channelsPath+"/"+other.ID, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD with another token: status %d", resp.StatusCode)
	}
	h.create("fresh")
	h.tfConnect("fresh")
}

func TestSendRaw(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	<-h.srv.Sockets()

	h.srv.SendRaw(ch.ID, []byte("not json {"))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageText || string(data) != "not json {" {
		t.Fatalf("got %v %q %v, want the raw text frame", typ, data, err)
	}
}

// live returns the ids of the live channels. Unlike a REST request, it
// does not count as a use of the channels.
func live(h *harness) map[string]bool {
	out := map[string]bool{}
	for _, ch := range h.srv.Channels() {
		out[ch.ID] = true
	}
	return out
}

// checkLive fails unless exactly the channels want are live.
func checkLive(t *testing.T, h *harness, want ...channelInfo) {
	t.Helper()
	got := live(h)
	for _, ch := range want {
		if !got[ch.ID] {
			t.Errorf("channel %s evicted", ch.ID)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d live channels, want %d", len(got), len(want))
	}
}

func TestMaxChannelsEvictsOldestUnconnected(t *testing.T) {
	// Tokens "a…" belong to one app, "b…" to another.
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, App: func(tok string) string { return tok[:1] }})
	var chans []channelInfo
	for i := range 20 {
		chans = append(chans, h.create("a"+strconv.Itoa(i%3))) // the app's tokens share the limit
	}
	h.dial(chans[0])
	h.dial(chans[1])
	<-h.srv.Sockets()
	<-h.srv.Sockets()
	other := h.create("b") // other apps do not count

	created := h.create("a-new")
	checkLive(t, h, append(append(slices.Clone(chans[:2]), chans[3:]...), other, created)...)
}

// By default every token belongs to one app: fresh tokens do not get
// fresh room.
func TestMaxChannelsDefaultOneApp(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, MaxChannels: 2})
	h.create("t1")
	b := h.create("t2")
	c := h.create("t3")
	checkLive(t, h, b, c)
}

// The victim is the unconnected channel used least recently, not the
// oldest: REST requests and socket closes count as uses.
func TestMaxChannelsEvictsLeastRecentlyUsed(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, MaxChannels: 3})
	a, b := h.create(token), h.create(token)
	h.create(token)              // the victim
	h.put(a.ID, presenceOf("x")) // a used after it
	cb := h.dial(b)
	nextSocket(t, h.srv)
	cb.Close(websocket.StatusNormalClosure, "") // b used last
	waitFor(t, "b disconnected", func() bool { return h.srv.Stats().Open == 0 })

	d := h.create(token)
	checkLive(t, h, a, b, d)

	// HEAD is a use too: now b is the least recently used.
	for _, ch := range []channelInfo{d, a} {
		h.doStatus(http.StatusOK, http.MethodHead, channelsPath+"/"+ch.ID, "")
	}
	e := h.create(token)
	checkLive(t, h, a, d, e)
}

// When every channel has a socket, the least recently used one is evicted,
// and its socket is told.
func TestMaxChannelsAllConnected(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, MaxChannels: 2})
	a, b := h.create(token), h.create(token)
	h.dial(a)
	cb := h.dial(b)
	<-h.srv.Sockets()
	<-h.srv.Sockets()
	h.put(a.ID, presenceOf("t")) // a used after b

	c := h.create(token)
	checkSystem(t, read(t, cb), "v2.system.no_longer_subscribed."+b.ID, "no_longer_subscribed", b.ID)
	readErr(t, cb)
	checkLive(t, h, a, c)
}

func TestCloseServer(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: time.Millisecond})
	tr := &http.Transport{}
	h := &harness{t: t, srv: srv, hc: &http.Client{Transport: tr}}
	ch := h.create(token)
	c := dialNoCleanup(t, h, ch)
	defer c.CloseNow()
	h.put(ch.ID, presenceOf("t"))
	stalled := dialNoCleanup(t, h, h.create(token))
	defer stalled.CloseNow()
	<-srv.Sockets()
	<-srv.Sockets()
	srv.Stall()
	// A socket that never reads, closed with a handshake it never answers.
	unread := dialNoCleanup(t, h, h.create(token))
	defer unread.CloseNow()
	<-srv.Sockets()
	srv.CloseAll(websocket.StatusGoingAway, "")

	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := readErr(t, c); err == nil {
		t.Fatal("socket still open")
	}
	if err := readErr(t, stalled); err == nil {
		t.Fatal("stalled socket still open")
	}
	srv.Close() // idempotent
	if s := srv.Stats(); s.Open != 0 {
		t.Errorf("%d sockets open after Close", s.Open)
	}
	if _, n := srv.Publish("t", 1); n != 0 {
		t.Errorf("Publish after Close delivered %d", n)
	}
	if resp, err := h.hc.Post(srv.URL()+channelsPath, "", nil); err == nil {
		resp.Body.Close()
		t.Errorf("server still listening")
	}

	c.CloseNow()
	stalled.CloseNow()
	unread.CloseNow()
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

func dialNoCleanup(t *testing.T, h *harness, ch channelInfo) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ch.ConnectURI, &websocket.DialOptions{HTTPClient: h.hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
