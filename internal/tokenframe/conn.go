package tokenframe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/socket"
	"github.com/gcnotify/notify/internal/wire"
)

// errTokenRefused marks a connection that the server refused or ended
// because of its token: an error frame with status 401, or close code 4001.
var errTokenRefused = errors.New("notify: server refused the token")

// Protocol speaks the token-frame protocol: the token is the first socket
// frame and subscriptions are frames. Nothing outlives a socket, so every
// connection replays the whole set.
type Protocol struct {
	cfg      wire.Config
	endpoint string
	label    string // the endpoint without its query, for errors
	id       string // the label and the shard's number, which name the connection
}

// New returns the protocol for shard number shard at endpoint, which the
// caller has checked.
func New(cfg wire.Config, endpoint string, shard int) *Protocol {
	u, _ := url.Parse(endpoint)
	u.RawQuery, u.Fragment = "", ""
	return &Protocol{cfg: cfg, endpoint: endpoint, label: u.String(), id: fmt.Sprintf("%s#%d", u, shard)}
}

// Dial presents the cached token, or a fresh one after a refusal; a
// refused cached token is replaced once, and a refused fresh token is
// wire.ErrUnauthorized.
func (p *Protocol) Dial(ctx context.Context, topics []string, after wire.Class, _ wire.Session) (wire.Conn, []wire.Rejection, error) {
	fresh := after == wire.FreshToken
	c, rej, err := p.open(ctx, topics)
	if errors.Is(err, errTokenRefused) && !fresh {
		p.cfg.Tokens.Invalidate()
		c, rej, err = p.open(ctx, topics)
	}
	if errors.Is(err, errTokenRefused) {
		return nil, nil, fmt.Errorf("%w: %w", wire.ErrUnauthorized, err)
	}
	return c, rej, err
}

func (p *Protocol) open(ctx context.Context, topics []string) (wire.Conn, []wire.Rejection, error) {
	c := &conn{p: p, waiters: map[string]chan Message{}, done: make(chan struct{})}
	ws, _, err := websocket.Dial(ctx, p.endpoint, &websocket.DialOptions{
		HTTPClient:     p.cfg.HTTP,
		OnPongReceived: func(context.Context, []byte) { c.Touch() },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("notify: dialing %s: %w", p.label, err)
	}
	c.Socket = socket.New(ctx, ws, p.cfg.ReadLimit, p.cfg.Clock)
	c.dec.Intern(topics)
	hctx, cancel := context.WithTimeout(ctx, p.cfg.Heartbeat)
	defer cancel()
	rej, err := c.handshake(hctx, topics)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, rej, nil
}

type conn struct {
	*socket.Socket
	p   *Protocol
	dec Decoder // knows the subscribed topics

	token  atomic.Pointer[token] // the token presented last
	events []wire.Event          // events read during the handshake, for Next

	mu      sync.Mutex
	waiters map[string]chan Message // topic ("" for the token) -> its reply
	done    chan struct{}           // closed when Next stops
	ended   sync.Once
}

// token is what a connection keeps of the token it presented.
type token struct {
	access   string
	expiry   time.Time // zero: never expires
	lifetime time.Duration
}

func (c *conn) keep(access string, expiry time.Time) {
	c.token.Store(&token{access: access, expiry: expiry, lifetime: expiry.Sub(c.p.cfg.Clock.Now())})
}

// handshake presents the token, waits for connected and subscribes
// topics, reading frames itself: the reader goroutine starts later.
func (c *conn) handshake(ctx context.Context, topics []string) ([]wire.Rejection, error) {
	tok, err := c.p.cfg.Tokens.Token(0)
	if err != nil {
		return nil, err
	}
	c.keep(tok.AccessToken, tok.Expiry)
	if err := c.write(ctx, Auth(tok.AccessToken)); err != nil {
		return nil, err
	}
	for {
		m, err := c.handshakeFrame(ctx)
		if err != nil {
			return nil, err
		}
		if m.Kind == Connected {
			break
		}
		if m.Kind == Error {
			return nil, c.refusal(m)
		}
	}
	for _, topic := range topics {
		if err := c.write(ctx, Subscribe(topic)); err != nil {
			return nil, err
		}
	}
	waiting := make(map[string]bool, len(topics))
	for _, topic := range topics {
		waiting[topic] = true
	}
	var rejected []wire.Rejection
	for len(waiting) > 0 {
		m, err := c.handshakeFrame(ctx)
		if err != nil {
			return nil, err
		}
		switch {
		case m.Kind == Error && m.Topic == "":
			return nil, c.refusal(m)
		case (m.Kind == Subscribed || m.Kind == Error) && waiting[m.Topic]:
			delete(waiting, m.Topic)
			if m.Kind == Error {
				rejected = append(rejected, c.rejected(m))
			}
		}
	}
	return rejected, nil
}

// decoded reads and decodes the next frame, skipping binary and
// undecodable ones. An event's data is copied out of the read buffer.
func (c *conn) decoded(ctx context.Context) (Message, time.Time, error) {
	for {
		typ, data, now, err := c.Socket.Next(ctx)
		if err != nil {
			return Message{}, now, c.readError(err)
		}
		if typ != websocket.MessageText || !utf8.Valid(data) {
			c.p.cfg.Log.Warn("notify: skipping a binary or invalid UTF-8 frame", "conn", c.p.id)
			continue
		}
		m, err := c.dec.Decode(data)
		if err != nil {
			c.p.cfg.Log.Warn("notify: skipping an undecodable frame", "conn", c.p.id, "err", err)
			continue
		}
		if m.Kind == Event {
			m.Data = bytes.Clone(m.Data)
		}
		return m, now, nil
	}
}

// handshakeFrame reads one reply during the handshake, keeping events for
// Next.
func (c *conn) handshakeFrame(ctx context.Context) (Message, error) {
	for {
		m, now, err := c.decoded(ctx)
		if err != nil || m.Kind != Event {
			return m, err
		}
		c.events = append(c.events, wire.Event{Topic: m.Topic, Body: m.Data, Received: now})
	}
}

func (c *conn) write(ctx context.Context, frame []byte) error {
	if err := c.Conn.Write(ctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("notify: writing to %s: %w", c.p.label, err)
	}
	return nil
}

func (c *conn) readError(err error) error {
	if websocket.CloseStatus(err) == CloseUnauthorized {
		return wire.Classed(wire.FreshToken, fmt.Errorf("%w: %s closed the socket: %w", errTokenRefused, c.p.label, err))
	}
	return socket.Lost(c.p.label, err)
}

// refusal is the error of an error frame about the connection itself.
func (c *conn) refusal(m Message) error {
	if m.Status == 401 {
		return wire.Classed(wire.FreshToken, fmt.Errorf("%w: %s", errTokenRefused, c.redact(m.Text)))
	}
	return &wire.HTTPError{Status: m.Status, Message: c.redact(m.Text)}
}

func (c *conn) rejected(m Message) wire.Rejection {
	return wire.Rejection{Topic: m.Topic, Reason: fmt.Sprintf("%d %s", m.Status, c.redact(m.Text))}
}

// redact keeps the token out of text that came from the server.
func (c *conn) redact(s string) string {
	t := c.token.Load()
	if t == nil || t.access == "" {
		return s
	}
	return strings.ReplaceAll(s, t.access, "[token]")
}

// ID names the connection: there are no channels in this protocol, so it
// is the endpoint and the shard's number.
func (c *conn) ID() string { return c.p.id }

func (c *conn) Next() (wire.Frame, error) {
	if len(c.events) > 0 {
		ev := c.events[0]
		c.events = c.events[1:]
		return wire.Frame{Kind: wire.Notify, Event: ev}, nil
	}
	m, now, err := c.decoded(context.Background())
	if err != nil {
		c.end()
		return wire.Frame{}, err
	}
	switch {
	case m.Kind == Event:
		return wire.Frame{Kind: wire.Notify, Event: wire.Event{Topic: m.Topic, Body: m.Data, Received: now}}, nil
	case m.Kind == Error && m.Topic == "":
		c.end()
		return wire.Frame{}, c.refusal(m)
	}
	c.mu.Lock()
	ch := c.waiters[m.Topic]
	c.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default: // an answer nobody asked for
		}
	}
	return wire.Frame{Kind: wire.Alive}, nil
}

// end fails every call waiting for a reply.
func (c *conn) end() { c.ended.Do(func() { close(c.done) }) }

// ask sends frames and waits for the reply about each key: a topic, or ""
// for the token.
func (c *conn) ask(ctx context.Context, keys []string, frames [][]byte) ([]Message, error) {
	replies := make([]chan Message, len(keys))
	c.mu.Lock()
	for i, k := range keys {
		replies[i] = make(chan Message, 1)
		c.waiters[k] = replies[i]
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		for _, k := range keys {
			delete(c.waiters, k)
		}
		c.mu.Unlock()
	}()
	for _, f := range frames {
		if err := c.write(ctx, f); err != nil {
			return nil, err
		}
	}
	out := make([]Message, len(keys))
	for i, ch := range replies {
		select {
		case out[i] = <-ch:
		case <-c.done:
			return nil, fmt.Errorf("notify: %s closed before answering", c.p.label)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// Change sends a frame per added and removed topic and waits for the
// answers, at most the heartbeat timeout; an error frame about an added
// topic rejects it.
func (c *conn) Change(ctx context.Context, all, added, removed []string) ([]wire.Rejection, error) {
	ctx, cancel := context.WithTimeout(ctx, c.p.cfg.Heartbeat)
	defer cancel()
	keys := make([]string, 0, len(added)+len(removed))
	frames := make([][]byte, 0, len(keys))
	for _, t := range added {
		keys, frames = append(keys, t), append(frames, Subscribe(t))
	}
	for _, t := range removed {
		keys, frames = append(keys, t), append(frames, Unsubscribe(t))
	}
	c.dec.Intern(all)
	replies, err := c.ask(ctx, keys, frames)
	if err != nil {
		return nil, err
	}
	var rejected []wire.Rejection
	for _, m := range replies[:len(added)] {
		if m.Kind == Error {
			rejected = append(rejected, c.rejected(m))
		}
	}
	return rejected, nil
}

// RenewAt leaves the renewal margin, or half the token's lifetime if that
// is shorter, before the presented token expires.
func (c *conn) RenewAt() time.Time {
	t := c.token.Load()
	if t.expiry.IsZero() || t.lifetime <= 0 {
		return time.Time{}
	}
	return t.expiry.Add(-min(c.p.cfg.RenewMargin, t.lifetime/2))
}

// Renew presents a newer token on the open socket: no reconnect, no gap,
// and the subscriptions stay as they are. It waits for the answer at most
// the heartbeat timeout.
func (c *conn) Renew(ctx context.Context) ([]wire.Rejection, error) {
	ctx, cancel := context.WithTimeout(ctx, c.p.cfg.Heartbeat)
	defer cancel()
	cur := c.token.Load()
	tok, err := c.p.cfg.Tokens.Token(cur.expiry.Sub(c.p.cfg.Clock.Now()) + time.Second)
	if err != nil {
		return nil, err
	}
	if !tok.Expiry.After(cur.expiry) {
		// The source has nothing newer: when the server ends the socket
		// at expiry, the client reconnects with a fresh token.
		c.token.Store(&token{access: cur.access, expiry: cur.expiry})
		return nil, nil
	}
	// Kept before the answer, so the reader redacts it from any reply;
	// if it is refused, the server ends the socket.
	c.keep(tok.AccessToken, tok.Expiry)
	replies, err := c.ask(ctx, []string{""}, [][]byte{Auth(tok.AccessToken)})
	if err != nil {
		return nil, err
	}
	if m := replies[0]; m.Kind != Connected {
		return nil, c.refusal(m)
	}
	return nil, nil
}

// Drain sends a WebSocket ping and waits for its pong, which touches the
// socket, until ctx ends or the socket closes. The server answers a ping
// after every frame it sent before it.
func (c *conn) Drain(ctx context.Context) error { return c.Conn.Ping(ctx) }
