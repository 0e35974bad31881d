// Package socket reads a WebSocket the way both protocols need it: closed
// when its connection's context ends, read into one reused buffer, and
// watched for signs of life.
package socket

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/clock"
)

// maxKeptBuffer is the largest read buffer a socket keeps between frames.
const maxKeptBuffer = 64 << 10

// Socket is a connection's WebSocket. Next is called by one goroutine.
type Socket struct {
	Conn  *websocket.Conn
	clock clock.Clock
	seen  atomic.Int64 // unix nanoseconds of the last sign of life
	buf   bytes.Buffer
	stop  func() bool // unregisters the close on ctx
}

// New wraps conn, sets its read limit and closes it when ctx ends, so
// reads need no context of their own (coder/websocket would watch one on
// every read).
func New(ctx context.Context, conn *websocket.Conn, limit int64, clk clock.Clock) *Socket {
	conn.SetReadLimit(limit)
	s := &Socket{Conn: conn, clock: clk}
	s.stop = context.AfterFunc(ctx, func() { conn.CloseNow() })
	s.Touch()
	return s
}

// Touch records a sign of life now and returns the time.
func (s *Socket) Touch() time.Time {
	now := s.clock.Now()
	s.seen.Store(now.UnixNano())
	return now
}

// Seen is when the socket last showed a sign of life.
func (s *Socket) Seen() time.Time { return time.Unix(0, s.seen.Load()) }

// Next reads the next message into the socket's buffer; the bytes are
// valid until the next call. ctx may bound this read alone.
func (s *Socket) Next(ctx context.Context) (websocket.MessageType, []byte, time.Time, error) {
	typ, r, err := s.Conn.Reader(ctx)
	if err != nil {
		return 0, nil, time.Time{}, err
	}
	if s.buf.Cap() > maxKeptBuffer {
		s.buf = bytes.Buffer{}
	}
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(r); err != nil {
		return 0, nil, time.Time{}, err
	}
	return typ, s.buf.Bytes(), s.Touch(), nil
}

// Leave ends the socket with a close handshake: it returns once the
// server answered the close frame, or after coder/websocket's 5s bound.
func (s *Socket) Leave() {
	s.stop()
	s.Conn.Close(websocket.StatusNormalClosure, "")
}

// Close ends the socket at once.
func (s *Socket) Close() {
	s.stop()
	s.Conn.CloseNow()
}
