package notifytest_test

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gcnotify/notify/notifytest"
)

// A client PUTs its subscriptions as soon as its Dial returns, that is as
// soon as the server wrote the 101 response, and expects every Publish after
// the PUT's response to reach its socket.
func TestUpgradeThenPut(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1, MaxChannels: 1000})
	for i := range 300 {
		ch := h.create(token)
		c := h.dial(ch)
		topic := presenceOf(strconv.Itoa(i))
		h.put(ch.ID, topic)
		if _, n := h.srv.Publish(topic, i); n != 1 {
			t.Fatalf("iteration %d: delivered %d, want 1", i, n)
		}
		if e := readEvent(t, c); string(e.EventBody) != strconv.Itoa(i) {
			t.Fatalf("iteration %d: got %s", i, e.raw)
		}
		c.CloseNow()
	}
}

// A client that reconnects to its channel keeps its subscriptions: a
// Publish right after the new Dial returns reaches the new socket.
func TestReconnectThenPublish(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	h.put(ch.ID, presenceOf("t"))
	old := h.dial(ch)
	for i := range 300 {
		c := h.dial(ch)
		if _, n := h.srv.Publish(presenceOf("t"), i); n != 1 {
			t.Fatalf("iteration %d: delivered %d, want 1", i, n)
		}
		if e := readEvent(t, c); string(e.EventBody) != strconv.Itoa(i) {
			t.Fatalf("iteration %d: got %s", i, e.raw)
		}
		old.CloseNow()
		old = c
	}
}

// The PUT waits for the registration of a socket whose upgrade response was
// written: force the PUT to arrive while the registration is held back.
func TestPutWaitsForUpgrade(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)

	waiting := make(chan struct{})
	var once sync.Once
	var waited atomic.Bool
	notifytest.SetTestHooks(h.srv,
		func(string) {
			// Hold the registration until the PUT waits for it.
			select {
			case <-waiting:
				waited.Store(true)
			case <-time.After(timeout):
			}
		},
		func(string) { once.Do(func() { close(waiting) }) },
	)

	c := h.dial(ch)
	h.doStatus(http.StatusOK, http.MethodPut, subsPath(ch.ID), topicList(presenceOf("t")))
	if !waited.Load() {
		t.Fatal("the PUT did not wait for the upgrade")
	}
	if _, n := h.srv.Publish(presenceOf("t"), "x"); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if e := readEvent(t, c); string(e.EventBody) != `"x"` {
		t.Fatalf("got %s", e.raw)
	}
}

// A {"message":"ping"} read while a Publish that chose the socket has not
// written its frame yet is answered after that frame: a client that got
// the pong has got every event published before its ping.
func TestPongWaitsForPublish(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, presenceOf("t"))

	release, pongWait, delivered := heldPublish(t, h.srv, presenceOf("t"), "held")
	ping(t, c)
	select {
	case id := <-pongWait:
		if id != ch.ID {
			t.Errorf("socket %s waits, want %s", id, ch.ID)
		}
	case <-time.After(timeout):
		t.Fatal("the ping did not wait for the held Publish")
	}
	release()
	if e := read(t, c); string(e.EventBody) != `"held"` {
		t.Fatalf("got %s, want the held event before the pong", e.raw)
	}
	if e := read(t, c); string(e.EventBody) != `{"message":"pong"}` {
		t.Fatalf("got %s, want the pong", e.raw)
	}
	if d := <-delivered; d != 1 {
		t.Errorf("delivered %d, want 1", d)
	}
}
