package genesys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/internal/socket"
	"github.com/gcnotify/notify/internal/wire"
)

// restTimeout bounds every REST call.
const restTimeout = 30 * time.Second

// Protocol speaks the Genesys Cloud Notifications API for one channel's
// worth of topics: a channel over REST, subscriptions over REST, events on
// a WebSocket. It reuses its channel across reconnects until the channel
// is gone.
type Protocol struct {
	cfg wire.Config
	api *API
	env string
	// apiHost is the host of a configured API base URL, on which stream
	// URLs are accepted too; "" if none.
	apiHost string
	ch      *channel // the channel to reuse, nil for a new one
}

// New returns the protocol for one shard. base is the REST base URL; env
// the environment whose streaming host stream URLs must be on; apiHost, if
// not empty, another host accepted for them (a test server's).
func New(cfg wire.Config, api *API, env, apiHost string) *Protocol {
	return &Protocol{cfg: cfg, api: api, env: env, apiHost: apiHost}
}

// channel is a channel shared by the connections opened on it.
type channel struct {
	Channel
	ttl     time.Duration // lifetime a subscription PUT gives it (ASSUMED: as at creation)
	expires atomic.Int64  // unix nanoseconds
}

// SessionID is the channel's id.
func (ch *channel) SessionID() string { return ch.ID }

// extend records that a subscription PUT just renewed the channel.
func (ch *channel) extend(now time.Time) {
	if ch.ttl > 0 {
		ch.expires.Store(now.Add(ch.ttl).UnixNano())
	}
}

// Dial reuses the channel of the previous connection unless it is gone or
// its token was revoked, or a new session is asked for (a handover, while
// the old socket is still open).
func (p *Protocol) Dial(ctx context.Context, topics []string, after wire.Class, reuse wire.Session) (wire.Conn, []wire.Rejection, error) {
	if after == wire.FreshSession || after == wire.FreshToken {
		p.ch = nil
	}
	if ch, ok := reuse.(*channel); ok && after != wire.FreshToken {
		p.ch = ch
	}
	if p.ch != nil {
		c, rej, err := p.open(ctx, p.ch, topics)
		if !errors.Is(err, wire.ErrChannelGone) {
			return c, rej, err
		}
		p.cfg.Log.Info("notify: channel gone, creating a new one", "channel", p.ch.ID)
		p.ch = nil
	}
	rctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	ch, err := p.api.CreateChannel(rctx)
	var he *wire.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusForbidden {
		return nil, nil, wire.Classed(wire.Permanent, fmt.Errorf("notify: creating a channel: %w", err))
	}
	if err != nil {
		return nil, nil, err
	}
	now := p.cfg.Clock.Now()
	st := &channel{Channel: ch, ttl: ch.Expires.Sub(now)}
	st.expires.Store(ch.Expires.UnixNano())
	p.ch = st
	return p.open(ctx, st, topics)
}

// open dials the channel's socket and then subscribes the set, so that
// every event published after open returns reaches the socket.
func (p *Protocol) open(ctx context.Context, ch *channel, topics []string) (wire.Conn, []wire.Rejection, error) {
	if err := p.CheckStreamURL(ch.ConnectURI); err != nil {
		return nil, nil, err
	}
	ws, resp, err := websocket.Dial(ctx, ch.ConnectURI, &websocket.DialOptions{HTTPClient: p.cfg.HTTP})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, nil, gone(ch.ID)
		}
		return nil, nil, fmt.Errorf("notify: dialing channel %s: %w", ch.ID, err)
	}
	c := &conn{Socket: socket.New(ctx, ws, p.cfg.ReadLimit, p.cfg.Clock), p: p, ch: ch, pong: make(chan struct{}, 1)}
	rej, err := c.replay(ctx, topics)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, rej, nil
}

func gone(id string) error {
	return wire.Classed(wire.FreshSession, fmt.Errorf("%w: %s", wire.ErrChannelGone, id))
}

// CheckStreamURL refuses to dial a stream URL on a host the configuration
// does not name, and ws:// anywhere but loopback.
func (p *Protocol) CheckStreamURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", wire.ErrInsecureURL, err)
	}
	host := u.Hostname()
	allowed := host == "streaming."+p.env && u.Port() == ""
	if p.apiHost != "" && u.Host == p.apiHost {
		allowed = true
	}
	switch {
	case !allowed:
		return fmt.Errorf("%w: stream host %q is not streaming.%s", wire.ErrInsecureURL, u.Host, p.env)
	case u.Scheme == "ws" && !wire.IsLoopback(host):
		return fmt.Errorf("%w: ws:// is allowed on loopback only, not %q", wire.ErrInsecureURL, u.Host)
	case u.Scheme != "ws" && u.Scheme != "wss":
		return fmt.Errorf("%w: stream URL scheme %q", wire.ErrInsecureURL, u.Scheme)
	}
	return nil
}

// conn is one socket on a channel.
type conn struct {
	*socket.Socket
	p     *Protocol
	ch    *channel
	dec   Decoder      // knows the subscribed topics
	held  []string     // the set the server holds; the owner's tasks, one at a time
	pings atomic.Int64 // pings sent
	pongs atomic.Int64 // pongs read
	pong  chan struct{}
}

func (c *conn) ID() string { return c.ch.ID }

// Session is the channel, which a handover may leave to the next one.
func (c *conn) Session() wire.Session { return c.ch }

// RenewAt leaves the renewal margin before the channel expires, or half
// the channel's lifetime if that is shorter.
func (c *conn) RenewAt() time.Time {
	if c.ch.ttl <= 0 {
		return time.Time{}
	}
	exp := time.Unix(0, c.ch.expires.Load())
	return exp.Add(-min(c.p.cfg.RenewMargin, c.ch.ttl/2))
}

func (c *conn) Next() (wire.Frame, error) {
	typ, data, now, err := c.Socket.Next(context.Background())
	if err != nil {
		return wire.Frame{}, socket.Lost("channel "+c.ch.ID, err)
	}
	if typ != websocket.MessageText {
		return wire.Frame{Kind: wire.Invalid, Err: errors.New("notify: unexpected binary frame")}, nil
	}
	if !utf8.Valid(data) {
		return wire.Frame{Kind: wire.Invalid, Err: errors.New("notify: frame is not valid UTF-8")}, nil
	}
	m, err := c.dec.DecodeOwned(data)
	if err != nil {
		return wire.Frame{Kind: wire.Invalid, Err: err}, nil
	}
	switch m.Kind {
	case Heartbeat:
		return wire.Frame{Kind: wire.Alive}, nil
	case Pong:
		c.pongs.Add(1)
		select {
		case c.pong <- struct{}{}:
		default:
		}
		return wire.Frame{Kind: wire.Alive}, nil
	case SocketClosing:
		return wire.Frame{Kind: wire.Closing}, nil
	case NoLongerSubscribed:
		return wire.Frame{}, gone(c.ch.ID)
	case TokenRevoked:
		return wire.Frame{}, wire.Classed(wire.FreshToken, fmt.Errorf("%w: channel %s", wire.ErrTokenRevoked, c.ch.ID))
	}
	return wire.Frame{Kind: wire.Notify, Event: wire.Event{
		Topic:         m.Topic,
		Version:       m.Version,
		CorrelationID: m.CorrelationID,
		Body:          m.Body,
		Received:      now,
	}}, nil
}

// ping writes a ping frame; the server answers with a pong frame.
func (c *conn) ping(ctx context.Context) error {
	c.pings.Add(1)
	return c.Conn.Write(ctx, websocket.MessageText, Ping)
}

// Drain sends a ping and waits for the pongs of every ping so far: the
// server answers in order, so every frame it wrote before has been read.
func (c *conn) Drain(ctx context.Context) error {
	if err := c.ping(ctx); err != nil {
		return err
	}
	for c.pongs.Load() < c.pings.Load() {
		select {
		case <-c.pong:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Change replaces the channel's subscriptions with all: PUT is idempotent
// and extends the channel's life. If the server refuses the set as a
// whole (400), only the topics added are narrowed down: the set without
// them is put back, so the topics the channel held stay subscribed
// throughout, and the added ones are added in halves (see narrow).
func (c *conn) Change(ctx context.Context, all, added, _ []string) ([]wire.Rejection, error) {
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	rej, err := c.subscribe(ctx, c.p.api.PutSubscriptions, all)
	if reason, bad := badRequest(err); bad && len(added) > 0 {
		c.p.cfg.Log.Warn("notify: the server refused the subscription change as a whole; narrowing the added topics", "channel", c.ch.ID, "added", len(added), "reason", reason)
		kept := slices.DeleteFunc(slices.Clone(all), func(t string) bool { return slices.Contains(added, t) })
		if rej, err = c.subscribe(ctx, c.p.api.PutSubscriptions, kept); err == nil {
			var more []wire.Rejection
			more, err = c.narrow(ctx, added)
			rej = append(rej, more...)
		}
	}
	if err != nil {
		return nil, err
	}
	c.dec.Intern(all)
	c.held = without(all, rej)
	return rej, nil
}

// replay subscribes the whole set on a new connection, before its
// Connected: if the server refuses the set as a whole, it may start from
// an empty set and add the set back in halves, each refused half split
// again, so each request differs from the refused ones; a topic refused
// alone is rejected with the server's reason.
func (c *conn) replay(ctx context.Context, all []string) ([]wire.Rejection, error) {
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	rej, err := c.subscribe(ctx, c.p.api.PutSubscriptions, all)
	if reason, bad := badRequest(err); bad && len(all) > 0 {
		c.p.cfg.Log.Warn("notify: the server refused the whole subscription set; narrowing it", "channel", c.ch.ID, "topics", len(all), "reason", reason)
		if _, err = c.subscribe(ctx, c.p.api.PutSubscriptions, nil); err == nil {
			rej, err = c.narrow(ctx, all)
		}
	}
	if err != nil {
		return nil, err
	}
	c.dec.Intern(all)
	c.held = without(all, rej)
	return rej, nil
}

// narrow adds topics, halving every part the server refuses as a whole.
func (c *conn) narrow(ctx context.Context, topics []string) ([]wire.Rejection, error) {
	rej, err := c.subscribe(ctx, c.p.api.PostSubscriptions, topics)
	reason, bad := badRequest(err)
	switch {
	case !bad:
		return rej, err
	case len(topics) == 1:
		return []wire.Rejection{{Topic: topics[0], Reason: reason}}, nil
	}
	half := len(topics) / 2
	first, err := c.narrow(ctx, topics[:half])
	if err != nil {
		return nil, err
	}
	second, err := c.narrow(ctx, topics[half:])
	return append(first, second...), err
}

// without returns topics less the rejected ones.
func without(topics []string, rej []wire.Rejection) []string {
	return slices.DeleteFunc(slices.Clone(topics), func(t string) bool {
		return slices.ContainsFunc(rej, func(r wire.Rejection) bool { return r.Topic == t })
	})
}

// badRequest reports whether err is the server refusing a request as a
// whole (400), and its message.
func badRequest(err error) (string, bool) {
	var he *wire.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusBadRequest {
		return cmp.Or(he.Message, he.Error()), true
	}
	return "", false
}

// subscribe sends topics with put or post and returns the refused ones.
func (c *conn) subscribe(ctx context.Context, send func(context.Context, string, []string) ([]TopicState, error), topics []string) ([]wire.Rejection, error) {
	states, err := send(ctx, c.ch.ID, topics)
	var he *wire.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusNotFound {
		return nil, gone(c.ch.ID)
	}
	if err != nil {
		return nil, err
	}
	c.ch.extend(c.p.cfg.Clock.Now())
	var rej []wire.Rejection
	for _, s := range states {
		if s.Rejected() {
			rej = append(rej, wire.Rejection{Topic: s.ID, Reason: s.RejectionReason, MissingPermissions: s.MissingPermissions})
		}
	}
	return rej, nil
}

// Renew subscribes the set again, which extends the channel.
func (c *conn) Renew(ctx context.Context) ([]wire.Rejection, error) {
	return c.Change(ctx, c.held, nil, nil)
}
