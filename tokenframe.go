package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/tokenframe"
)

// errTokenRefused marks a connection that the server refused or ended
// because of its token: an error frame with status 401, or close code 4001.
var errTokenRefused = errors.New("notify: server refused the token")

// tokenFrameTransport speaks the token-frame protocol (PROTOCOL.md §2):
// the token is the first socket frame and subscriptions are frames.
// Nothing outlives a socket, so every connection replays the whole set.
type tokenFrameTransport struct {
	cfg      *config
	tokens   *tokens
	endpoint string
	label    string // the endpoint without its query, for errors and events
	id       string // the label and the shard's number, which name the connection
}

func newTokenFrameTransport(cfg *config, tok *tokens, shard int) *tokenFrameTransport {
	u, _ := url.Parse(cfg.tokenFrameURL) // checked by WithTokenFrameEndpoint
	u.RawQuery, u.Fragment = "", ""
	return &tokenFrameTransport{cfg: cfg, tokens: tok, endpoint: cfg.tokenFrameURL,
		label: u.String(), id: fmt.Sprintf("%s#%d", u, shard)}
}

// connect presents the cached token, or a fresh one if the server refused
// the last; a refused cached token is replaced once, and a refused fresh
// token is ErrUnauthorized.
func (t *tokenFrameTransport) connect(ctx context.Context, topics []string, why error) (link, []Rejected, error) {
	fresh := errors.Is(why, errTokenRefused)
	if fresh {
		t.tokens.invalidate()
	}
	l, rej, err := t.open(ctx, topics)
	if errors.Is(err, errTokenRefused) && !fresh {
		t.tokens.invalidate()
		l, rej, err = t.open(ctx, topics)
	}
	if errors.Is(err, errTokenRefused) {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return l, rej, err
}

func (t *tokenFrameTransport) open(ctx context.Context, topics []string) (link, []Rejected, error) {
	l := &tokenFrameLink{t: t, waiters: map[string]chan tokenframe.Message{}, done: make(chan struct{})}
	conn, _, err := websocket.Dial(ctx, t.endpoint, &websocket.DialOptions{
		HTTPClient:     t.cfg.httpClient,
		OnPongReceived: func(context.Context, []byte) { l.touch() },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("notify: dialing %s: %w", t.label, err)
	}
	l.socket = newSocket(ctx, conn, t.cfg.readLimit)
	l.dec.Intern(topics)
	hctx, cancel := context.WithTimeout(ctx, t.cfg.heartbeat)
	defer cancel()
	rej, err := l.handshake(hctx, topics)
	if err != nil {
		l.close()
		return nil, nil, err
	}
	return l, rej, nil
}

type tokenFrameLink struct {
	*socket
	t   *tokenFrameTransport
	dec tokenframe.Decoder // knows the subscribed topics

	// Set by the supervisor's goroutine (handshake, renew), read by it.
	token  *oauth2Token
	events []Notification // events read during the handshake, for read

	mu      sync.Mutex
	waiters map[string]chan tokenframe.Message // topic ("" for the token) -> its reply
	done    chan struct{}                      // closed when read stops
	ended   sync.Once
}

// oauth2Token is what a link keeps of the token it presented.
type oauth2Token struct {
	access   string
	expiry   time.Time // zero: never expires
	lifetime time.Duration
}

// handshake presents the token, waits for connected and subscribes
// topics, reading frames itself: the reader goroutine starts later.
func (l *tokenFrameLink) handshake(ctx context.Context, topics []string) ([]Rejected, error) {
	tok, err := l.t.tokens.get(0)
	if err != nil {
		return nil, err
	}
	if err := l.write(ctx, tokenframe.Auth(tok.AccessToken)); err != nil {
		return nil, err
	}
	l.token = keep(tok.AccessToken, tok.Expiry)
	for {
		m, err := l.handshakeFrame(ctx)
		if err != nil {
			return nil, err
		}
		if m.Kind == tokenframe.Connected {
			break
		}
		if m.Kind == tokenframe.Error {
			return nil, l.refusal(m)
		}
	}
	for _, topic := range topics {
		if err := l.write(ctx, tokenframe.Subscribe(topic)); err != nil {
			return nil, err
		}
	}
	waiting := make(map[string]bool, len(topics))
	for _, topic := range topics {
		waiting[topic] = true
	}
	var rejected []Rejected
	for len(waiting) > 0 {
		m, err := l.handshakeFrame(ctx)
		if err != nil {
			return nil, err
		}
		switch {
		case m.Kind == tokenframe.Error && m.Topic == "":
			return nil, l.refusal(m)
		case (m.Kind == tokenframe.Subscribed || m.Kind == tokenframe.Error) && waiting[m.Topic]:
			delete(waiting, m.Topic)
			if m.Kind == tokenframe.Error {
				rejected = append(rejected, l.rejected(m))
			}
		}
	}
	return rejected, nil
}

func keep(access string, expiry time.Time) *oauth2Token {
	return &oauth2Token{access: access, expiry: expiry, lifetime: time.Until(expiry)}
}

// decoded reads and decodes the next frame, skipping binary and
// undecodable ones. An event's data is copied out of the read buffer.
func (l *tokenFrameLink) decoded(ctx context.Context) (tokenframe.Message, time.Time, error) {
	for {
		typ, data, now, err := l.next(ctx)
		if err != nil {
			return tokenframe.Message{}, now, l.readError(err)
		}
		if typ != websocket.MessageText {
			continue
		}
		m, err := l.dec.Decode(data)
		if err != nil {
			continue
		}
		if m.Kind == tokenframe.Event {
			m.Data = bytes.Clone(m.Data)
		}
		return m, now, nil
	}
}

// handshakeFrame reads one reply during the handshake, keeping events for
// read.
func (l *tokenFrameLink) handshakeFrame(ctx context.Context) (tokenframe.Message, error) {
	for {
		m, now, err := l.decoded(ctx)
		if err != nil || m.Kind != tokenframe.Event {
			return m, err
		}
		l.events = append(l.events, Notification{Topic: m.Topic, Body: m.Data, Received: now})
	}
}

func (l *tokenFrameLink) write(ctx context.Context, frame []byte) error {
	if err := l.conn.Write(ctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("notify: writing to %s: %w", l.t.label, err)
	}
	return nil
}

func (l *tokenFrameLink) readError(err error) error {
	if websocket.CloseStatus(err) == tokenframe.CloseUnauthorized {
		return fmt.Errorf("%w: %s closed the socket: %w", errTokenRefused, l.t.label, err)
	}
	return fmt.Errorf("notify: reading %s: %w", l.t.label, err)
}

// refusal is the error of an error frame about the connection itself.
func (l *tokenFrameLink) refusal(m tokenframe.Message) error {
	if m.Status == 401 {
		return fmt.Errorf("%w: %s", errTokenRefused, l.redact(m.Text))
	}
	return &APIError{Status: m.Status, Message: l.redact(m.Text)}
}

func (l *tokenFrameLink) rejected(m tokenframe.Message) Rejected {
	return Rejected{Topic: m.Topic, Reason: fmt.Sprintf("%d %s", m.Status, l.redact(m.Text))}
}

// redact keeps the token out of text that came from the server.
func (l *tokenFrameLink) redact(s string) string {
	if l.token == nil || l.token.access == "" {
		return s
	}
	return strings.ReplaceAll(s, l.token.access, "[token]")
}

// channelID names the connection: there are no channels in this
// protocol, so it is the endpoint and the shard's number.
func (l *tokenFrameLink) channelID() string { return l.t.id }

func (l *tokenFrameLink) read() (frame, error) {
	if len(l.events) > 0 {
		n := l.events[0]
		l.events = l.events[1:]
		return frame{kind: frameEvent, n: n}, nil
	}
	m, now, err := l.decoded(context.Background())
	if err != nil {
		l.end()
		return frame{}, err
	}
	switch {
	case m.Kind == tokenframe.Event:
		return frame{kind: frameEvent, n: Notification{Topic: m.Topic, Body: m.Data, Received: now}}, nil
	case m.Kind == tokenframe.Error && m.Topic == "":
		l.end()
		return frame{}, l.refusal(m)
	}
	l.mu.Lock()
	ch := l.waiters[m.Topic]
	l.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default: // an answer nobody asked for
		}
	}
	return frame{kind: frameKeepalive}, nil
}

// end fails every call waiting for a reply.
func (l *tokenFrameLink) end() { l.ended.Do(func() { close(l.done) }) }

// ask sends frames and waits for the reply about each key: a topic, or ""
// for the token.
func (l *tokenFrameLink) ask(ctx context.Context, keys []string, frames [][]byte) ([]tokenframe.Message, error) {
	replies := make([]chan tokenframe.Message, len(keys))
	l.mu.Lock()
	for i, k := range keys {
		replies[i] = make(chan tokenframe.Message, 1)
		l.waiters[k] = replies[i]
	}
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		for _, k := range keys {
			delete(l.waiters, k)
		}
		l.mu.Unlock()
	}()
	for _, f := range frames {
		if err := l.write(ctx, f); err != nil {
			return nil, err
		}
	}
	out := make([]tokenframe.Message, len(keys))
	for i, ch := range replies {
		select {
		case out[i] = <-ch:
		case <-l.done:
			return nil, fmt.Errorf("notify: %s closed before answering", l.t.label)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// update sends a frame per added and removed topic and waits for the
// answers; an error frame about an added topic rejects it.
func (l *tokenFrameLink) update(ctx context.Context, all, added, removed []string) ([]Rejected, error) {
	keys := make([]string, 0, len(added)+len(removed))
	frames := make([][]byte, 0, len(keys))
	for _, t := range added {
		keys, frames = append(keys, t), append(frames, tokenframe.Subscribe(t))
	}
	for _, t := range removed {
		keys, frames = append(keys, t), append(frames, tokenframe.Unsubscribe(t))
	}
	replies, err := l.ask(ctx, keys, frames)
	if err != nil {
		return nil, err
	}
	l.dec.Intern(all)
	var rejected []Rejected
	for _, m := range replies[:len(added)] {
		if m.Kind == tokenframe.Error {
			rejected = append(rejected, l.rejected(m))
		}
	}
	return rejected, nil
}

// renewAt leaves the renewal margin, or half the token's lifetime if that
// is shorter, before the presented token expires.
func (l *tokenFrameLink) renewAt() time.Time {
	if l.token.expiry.IsZero() || l.token.lifetime <= 0 {
		return time.Time{}
	}
	return l.token.expiry.Add(-min(l.t.cfg.renewMargin, l.token.lifetime/2))
}

// renew presents a newer token on the open socket: no reconnect, no gap,
// and the subscriptions stay as they are.
func (l *tokenFrameLink) renew(ctx context.Context, _ []string) ([]Rejected, error) {
	tok, err := l.t.tokens.get(time.Until(l.token.expiry) + time.Second)
	if err != nil {
		return nil, err
	}
	if !tok.Expiry.After(l.token.expiry) {
		// The source has nothing newer: when the server ends the socket
		// at expiry, the client reconnects with a fresh token.
		l.token.lifetime = 0
		return nil, nil
	}
	replies, err := l.ask(ctx, []string{""}, [][]byte{tokenframe.Auth(tok.AccessToken)})
	if err != nil {
		return nil, err
	}
	if m := replies[0]; m.Kind != tokenframe.Connected {
		return nil, l.refusal(m)
	}
	l.token = keep(tok.AccessToken, tok.Expiry)
	return nil, nil
}

func (l *tokenFrameLink) ping(ctx context.Context) error {
	return l.conn.Ping(ctx) // the pong touches the socket
}

// drain relies on the server answering a ping after every frame it sent
// before it.
func (l *tokenFrameLink) drain(ctx context.Context) error { return l.conn.Ping(ctx) }
