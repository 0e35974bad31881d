package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/genesys"
)

// restTimeout bounds every REST call.
const restTimeout = 30 * time.Second

// genesysTransport speaks the Genesys Cloud Notifications API: a channel
// over REST, subscriptions over REST, events on a WebSocket. It reuses its
// channel across reconnects until the channel is gone.
type genesysTransport struct {
	cfg    *config
	tokens *tokens
	api    genesys.API
	ch     *channelState // the channel to reuse, nil for a new one
}

// channelState is a channel shared by the links opened on it.
type channelState struct {
	genesys.Channel
	ttl     time.Duration // lifetime a subscription PUT gives it (ASSUMED: as at creation)
	expires atomic.Int64  // unix nanoseconds
}

// extend records that a subscription PUT just renewed the channel.
func (ch *channelState) extend() {
	if ch.ttl > 0 {
		ch.expires.Store(time.Now().Add(ch.ttl).UnixNano())
	}
}

func newGenesysTransport(cfg *config, tok *tokens) *genesysTransport {
	return &genesysTransport{
		cfg:    cfg,
		tokens: tok,
		api:    genesys.API{Base: cfg.apiBaseURL(), HTTP: cfg.httpClient, Token: tok.token},
	}
}

// rest runs one REST call with a bounded time. A 401 makes it fetch a new
// token and try once more; a second 401 is ErrUnauthorized.
func (t *genesysTransport) rest(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	err := apiError(call(ctx))
	if statusOf(err) != http.StatusUnauthorized {
		return err
	}
	t.tokens.invalidate()
	if err = apiError(call(ctx)); statusOf(err) == http.StatusUnauthorized {
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return err
}

// connect reuses the channel of the previous connection unless it is gone,
// its token was revoked, or the server announced a close (then a new
// channel is wanted, possibly while the old socket is still open).
func (t *genesysTransport) connect(ctx context.Context, topics []string, why error) (link, []Rejected, error) {
	if errors.Is(why, ErrChannelGone) || errors.Is(why, ErrTokenRevoked) || errors.Is(why, ErrPlannedClose) {
		t.ch = nil
	}
	if t.ch != nil {
		l, rej, err := t.open(ctx, t.ch, topics)
		if !errors.Is(err, ErrChannelGone) {
			return l, rej, err
		}
		t.cfg.logger.Info("notify: channel gone, creating a new one", "channel", t.ch.ID)
		t.ch = nil
	}
	var ch genesys.Channel
	err := t.rest(ctx, func(ctx context.Context) (err error) {
		ch, err = t.api.CreateChannel(ctx)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	st := &channelState{Channel: ch, ttl: time.Until(ch.Expires)}
	st.expires.Store(ch.Expires.UnixNano())
	t.ch = st
	return t.open(ctx, st, topics)
}

// open dials the channel's socket and then subscribes the set, so that
// every event published after open returns reaches the socket.
func (t *genesysTransport) open(ctx context.Context, ch *channelState, topics []string) (link, []Rejected, error) {
	if err := t.cfg.checkStreamURL(ch.ConnectURI); err != nil {
		return nil, nil, err
	}
	conn, resp, err := websocket.Dial(ctx, ch.ConnectURI, &websocket.DialOptions{HTTPClient: t.cfg.httpClient})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, nil, fmt.Errorf("%w: %s", ErrChannelGone, ch.ID)
		}
		return nil, nil, fmt.Errorf("notify: dialing channel %s: %w", ch.ID, err)
	}
	l := &genesysLink{socket: newSocket(ctx, conn, t.cfg.readLimit), t: t, ch: ch, pong: make(chan struct{}, 1)}
	rej, err := l.update(ctx, topics, topics, nil)
	if err != nil {
		l.close()
		return nil, nil, err
	}
	return l, rej, nil
}

type genesysLink struct {
	*socket
	t     *genesysTransport
	ch    *channelState
	dec   genesys.Decoder // knows the subscribed topics
	pings atomic.Int64    // pings sent
	pongs atomic.Int64    // pongs read
	pong  chan struct{}   // signalled on each pong
}

func (l *genesysLink) channelID() string { return l.ch.ID }

// renewAt leaves the renewal margin before the channel expires, or half
// the channel's lifetime if that is shorter.
func (l *genesysLink) renewAt() time.Time {
	if l.ch.ttl <= 0 {
		return time.Time{}
	}
	exp := time.Unix(0, l.ch.expires.Load())
	return exp.Add(-min(l.t.cfg.renewMargin, l.ch.ttl/2))
}

func (l *genesysLink) read() (frame, error) {
	typ, data, now, err := l.next(context.Background())
	if err != nil {
		return frame{}, fmt.Errorf("notify: reading channel %s: %w", l.ch.ID, err)
	}
	if typ != websocket.MessageText {
		return frame{kind: frameInvalid, err: errors.New("notify: unexpected binary frame")}, nil
	}
	m, err := l.dec.DecodeOwned(data)
	if err != nil {
		return frame{kind: frameInvalid, err: err}, nil
	}
	switch m.Kind {
	case genesys.Heartbeat:
		return frame{kind: frameKeepalive}, nil
	case genesys.Pong:
		l.pongs.Add(1)
		select {
		case l.pong <- struct{}{}:
		default:
		}
		return frame{kind: frameKeepalive}, nil
	case genesys.SocketClosing:
		return frame{kind: frameClosing}, nil
	case genesys.NoLongerSubscribed:
		return frame{kind: frameGone}, nil
	case genesys.TokenRevoked:
		return frame{kind: frameRevoked}, nil
	}
	return frame{kind: frameEvent, n: Notification{
		Topic:         m.Topic,
		Version:       m.Version,
		CorrelationID: m.CorrelationID,
		Body:          m.Body,
		Received:      now,
	}}, nil
}

func (l *genesysLink) ping(ctx context.Context) error {
	l.pings.Add(1)
	return l.conn.Write(ctx, websocket.MessageText, genesys.Ping)
}

// drain sends a ping and waits for the pongs of every ping so far: the
// server answers in order, so every frame it wrote before has been read.
func (l *genesysLink) drain(ctx context.Context) error {
	if err := l.ping(ctx); err != nil {
		return err
	}
	for l.pongs.Load() < l.pings.Load() {
		select {
		case <-l.pong:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// update replaces the channel's subscriptions with all: PUT is idempotent
// and extends the channel's life.
func (l *genesysLink) update(ctx context.Context, all, _, _ []string) ([]Rejected, error) {
	var states []genesys.TopicState
	err := l.t.rest(ctx, func(ctx context.Context) (err error) {
		states, err = l.t.api.PutSubscriptions(ctx, l.ch.ID, all)
		return err
	})
	if statusOf(err) == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s: %w", ErrChannelGone, l.ch.ID, err)
	}
	if err != nil {
		return nil, err
	}
	l.ch.extend()
	l.dec.Intern(all)
	var rej []Rejected
	for _, s := range states {
		if s.Rejected() {
			rej = append(rej, Rejected{Topic: s.ID, Reason: s.RejectionReason, MissingPermissions: s.MissingPermissions})
		}
	}
	return rej, nil
}

func (l *genesysLink) renew(ctx context.Context, all []string) ([]Rejected, error) {
	return l.update(ctx, all, nil, nil)
}
