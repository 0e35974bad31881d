package notify_test

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// A Disconnected says what happened in plain words first, then the
// transport's detail, and its error still matches what the transport's
// error matched.
func TestDisconnectedSaysWhatHappened(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{HeartbeatInterval: 30 * time.Millisecond})
		h := start(t, p, srv, notify.WithHeartbeatTimeout(200*time.Millisecond), notify.WithReadLimit(4096))
		topic := p.topic("v2.users.u.presence")
		if err := h.c.Subscribe(t.Context(), topic); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			fault string
			do    func()
			want  string
			is    func(error) bool
		}{
			{"drop", srv.DropAll, "notify: connection lost: the server closed it; ",
				func(err error) bool { return errors.Is(err, io.EOF) }},
			{"close", func() { srv.CloseAll(websocket.StatusGoingAway, "") },
				"notify: connection lost: the server closed it with status 1001 (going away); ",
				func(err error) bool { return websocket.CloseStatus(err) == websocket.StatusGoingAway }},
			{"oversized", func() { srv.Publish(topic, map[string]string{"big": strings.Repeat("x", 8192)}) },
				"notify: connection lost: a message was larger than the read limit; ",
				func(err error) bool { return errors.Is(err, websocket.ErrMessageTooBig) }},
			{"stall", srv.Stall, "notify: no heartbeat for ",
				func(err error) bool { return errors.Is(err, notify.ErrHeartbeatTimeout) }},
		} {
			await[notify.Connected](h)
			if err := srv.WaitSubscribed(t.Context(), topic); err != nil {
				t.Fatal(err)
			}
			tc.do()
			d := await[notify.Disconnected](h)
			if msg := d.Err.Error(); !strings.HasPrefix(msg, tc.want) || !tc.is(d.Err) {
				t.Errorf("%s: Disconnected.Err reads\n%s\nwant it to start with\n%s\nand to match the transport's error", tc.fault, msg, tc.want)
			}
		}
	})
}
