package socket_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/socket"
)

// tcpListener hands each connection it accepts to conns, so that a test
// can reset it.
type tcpListener struct {
	net.Listener
	conns chan *net.TCPConn
}

func (l tcpListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		l.conns <- tc
	}
	return c, err
}

// readError serves one WebSocket whose server end does end, and returns
// the error of the client's read, worded by socket.Lost.
func readError(t *testing.T, end func(c *websocket.Conn, tcp *net.TCPConn)) error {
	t.Helper()
	conns := make(chan *net.TCPConn, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		end(c, <-conns)
	}))
	srv.Listener = tcpListener{srv.Listener, conns}
	srv.Start()
	defer srv.Close()

	ctx := t.Context()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := socket.New(ctx, ws, 1024, clock.Real)
	defer s.Close()
	_, _, _, err = s.Next(ctx)
	if err == nil {
		t.Fatal("the read succeeded")
	}
	return socket.Lost("channel streaming-0-abc", err)
}

// A read error says what happened in plain words first, then where and
// the transport's detail, and still matches what the transport's error
// matched.
func TestLostWording(t *testing.T) {
	closeWith := func(code websocket.StatusCode, reason string) func(*websocket.Conn, *net.TCPConn) {
		return func(c *websocket.Conn, _ *net.TCPConn) { c.Close(code, reason) }
	}
	for _, tc := range []struct {
		name string
		end  func(c *websocket.Conn, tcp *net.TCPConn)
		want string
		is   func(error) bool
	}{
		{"EOF", func(c *websocket.Conn, _ *net.TCPConn) { c.CloseNow() },
			"the server closed it",
			func(err error) bool { return errors.Is(err, io.EOF) }},
		{"close 1000", closeWith(websocket.StatusNormalClosure, ""),
			"the server closed it with status 1000 (normal closure)",
			func(err error) bool { return websocket.CloseStatus(err) == websocket.StatusNormalClosure }},
		{"close 1001", closeWith(websocket.StatusGoingAway, "maintenance"),
			`the server closed it with status 1001 (going away): "maintenance"`,
			func(err error) bool { return websocket.CloseStatus(err) == websocket.StatusGoingAway }},
		{"close 4001", closeWith(4001, "token expired"),
			`the server closed it with status 4001: "token expired"`,
			func(err error) bool { return websocket.CloseStatus(err) == 4001 }},
		{"network", func(_ *websocket.Conn, tcp *net.TCPConn) { tcp.SetLinger(0); tcp.Close() },
			"the network dropped it",
			func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
		{"read limit", func(c *websocket.Conn, _ *net.TCPConn) {
			c.Write(context.Background(), websocket.MessageText, make([]byte, 2048))
		},
			"a message was larger than the read limit",
			func(err error) bool { return errors.Is(err, websocket.ErrMessageTooBig) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readError(t, tc.end)
			msg := err.Error()
			t.Log(msg)
			prefix := "notify: connection lost: " + tc.want + "; channel streaming-0-abc: "
			if !strings.HasPrefix(msg, prefix) {
				t.Errorf("the error reads\n%s\nwant it to start with\n%s", msg, prefix)
			}
			if len(msg) == len(prefix) {
				t.Errorf("the error has no transport detail: %s", msg)
			}
			if !tc.is(err) {
				t.Errorf("the worded error no longer matches the transport's: %s", msg)
			}
		})
	}
}

// A read of a socket that this client closed says so.
func TestLostClosedHere(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err == nil {
			c.Read(r.Context())
		}
	}))
	defer srv.Close()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := socket.New(ctx, ws, 1024, clock.Real)
	cancel()
	_, _, _, err = s.Next(context.Background())
	if err == nil {
		t.Fatal("the read succeeded")
	}
	err = socket.Lost("channel c", err)
	if !strings.HasPrefix(err.Error(), "notify: connection lost: this client closed it; channel c: ") || !errors.Is(err, net.ErrClosed) {
		t.Errorf("%v", err)
	}
}
