package notify

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// transport is what the supervisor needs from a wire protocol. It is used
// by the supervisor goroutine only.
type transport interface {
	// connect opens a connection and subscribes topics on it, returning the
	// topics the server refused. why is the error that ended the previous
	// connection (nil for the first), so the protocol can decide what
	// state to keep.
	connect(ctx context.Context, topics []string, why error) (link, []Rejected, error)
}

// link is one open connection. read is called by one reader goroutine;
// ping by the supervisor; update by whichever goroutine holds the topic
// set; close by the supervisor once read has returned or to make it return.
type link interface {
	channelID() string
	// read returns the next frame. It returns an error once close is
	// called or the context given to connect ends.
	read() (frame, error)
	// seen is when the connection last showed a sign of life: any frame,
	// or a pong.
	seen() time.Time
	// ping asks the server for a sign of life; it may wait for it until
	// ctx ends.
	ping(ctx context.Context) error
	// drain returns once every frame the server sent before the call has
	// been read by read, or ctx ends.
	drain(ctx context.Context) error
	// renewAt is when renew must be called to keep the connection from
	// expiring; zero if never.
	renewAt() time.Time
	// renew keeps the connection from expiring: Genesys channels are
	// renewed by subscribing the set again, token-frame sockets by sending
	// a new token.
	renew(ctx context.Context, all []string) ([]Rejected, error)
	// update makes the server's set equal to all, where added and removed
	// are the difference from the previous set.
	update(ctx context.Context, all, added, removed []string) ([]Rejected, error)
	// close ends the connection at once.
	close()
}

// frameKind classifies what a link read.
type frameKind int

const (
	frameEvent     frameKind = iota // a Notification for the user
	frameKeepalive                  // a heartbeat, pong or protocol reply: proof of life only
	frameInvalid                    // a frame that could not be decoded
	frameClosing                    // the server announced a close
	frameGone                       // the channel is gone
	frameRevoked                    // the token was revoked
)

type frame struct {
	kind frameKind
	n    Notification // for frameEvent
	err  error        // for frameInvalid
}

// activity records when a connection last showed a sign of life.
type activity struct{ ns atomic.Int64 }

func (a *activity) touch() time.Time {
	now := time.Now()
	a.ns.Store(now.UnixNano())
	return now
}

func (a *activity) seen() time.Time { return time.Unix(0, a.ns.Load()) }

// maxKeptBuffer is the largest read buffer a socket keeps between frames.
const maxKeptBuffer = 64 << 10

// socket is a connection's WebSocket as both protocols read it: closed
// when the connection's context ends (so reads need no context of their
// own, which coder/websocket would watch on every read), read into one
// reused buffer, and watched for signs of life.
type socket struct {
	activity
	conn *websocket.Conn
	buf  bytes.Buffer
	stop func() bool // unregisters the close on ctx
}

func newSocket(ctx context.Context, conn *websocket.Conn, limit int64) *socket {
	conn.SetReadLimit(limit)
	s := &socket{conn: conn}
	s.stop = context.AfterFunc(ctx, func() { conn.CloseNow() })
	s.touch()
	return s
}

// next reads the next message into the socket's buffer; the bytes are
// valid until the next call. ctx may bound this read alone.
func (s *socket) next(ctx context.Context) (websocket.MessageType, []byte, time.Time, error) {
	typ, r, err := s.conn.Reader(ctx)
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
	return typ, s.buf.Bytes(), s.touch(), nil
}

func (s *socket) close() {
	s.stop()
	s.conn.CloseNow()
}
