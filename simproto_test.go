package notify_test

// The simulated protocol: the engine's view of the simulated server
// (simserver_test.go), one wire.Protocol per owner, as internal/genesys
// is. Everything that implements or names the contract of package wire is
// in this file, so a change of that contract is a few edits here.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gcnotify/notify/internal/wire"
)

// simProtocol returns the protocol of owner num.
func simProtocol(srv *simServer, margin time.Duration) func(num int) wire.Protocol {
	return func(num int) wire.Protocol { return &simProto{srv: srv, num: num, margin: margin} }
}

// simProto is one owner's protocol. Like genesys.Protocol it reuses its
// channel across reconnects until the channel is gone.
type simProto struct {
	srv    *simServer
	num    int
	margin time.Duration // renew this long before the channel expires
	sess   *simSession
}

// SessionID makes a simSession a wire.Session.
func (ss *simSession) SessionID() string { return ss.id }

func (p *simProto) Dial(ctx context.Context, topics []string, after wire.Class, reuse wire.Session) (wire.Conn, []wire.Rejection, error) {
	p.srv.dialing(p.num, +1, topics)
	defer p.srv.dialing(p.num, -1, nil)
	if after == wire.FreshSession || after == wire.FreshToken {
		p.sess = nil
	}
	if ss, ok := reuse.(*simSession); ok && after != wire.FreshToken {
		p.sess = ss
	}
	if p.sess != nil {
		c, rej, err := p.open(ctx, p.sess, topics)
		if !errors.Is(err, wire.ErrChannelGone) {
			return c, rej, err
		}
		p.sess = nil
	}
	ss, a := p.srv.create(ctx, p.num)
	if a.st != stOK {
		return nil, nil, simError(a, "creating a channel")
	}
	p.sess = ss
	return p.open(ctx, ss, topics)
}

// open opens a socket on ss and subscribes topics.
func (p *simProto) open(ctx context.Context, ss *simSession, topics []string) (wire.Conn, []wire.Rejection, error) {
	c, a := p.srv.connect(ctx, p.num, ss)
	if a.st != stOK {
		return nil, nil, simError(a, "dialing channel "+ss.id)
	}
	w := &simWire{p: p, c: c}
	rej, err := w.Change(ctx, topics, topics, nil)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	p.srv.handed(c)
	return w, rej, nil
}

// ReadState makes simProto a wire.StateReader: a topic's state is its
// last event.
func (p *simProto) ReadState(ctx context.Context, topics []string) (map[string][]byte, []string, error) {
	read, a := p.srv.readState(ctx, p.num, topics)
	if a.st != stOK {
		return nil, topics, simError(a, "reading state")
	}
	bodies := map[string][]byte{}
	var skipped []string
	for _, t := range topics {
		if n, ok := read[t]; ok {
			bodies[t] = simBody(n)
		} else {
			skipped = append(skipped, t)
		}
	}
	return bodies, skipped, nil
}

// simWire is a socket as the engine sees it.
type simWire struct {
	p    *simProto
	c    *simConn
	held []string // the set the server holds: the owner's tasks, one at a time
}

func (w *simWire) ID() string                      { return w.c.sess.id }
func (w *simWire) Session() wire.Session           { return w.c.sess }
func (w *simWire) Seen() time.Time                 { return w.p.srv.seenAt(w.c) }
func (w *simWire) RenewAt() time.Time              { return w.p.srv.renewAt(w.c, w.p.margin) }
func (w *simWire) Leave()                          { w.p.srv.closeByClient(w.c, endLeft) }
func (w *simWire) Close()                          { w.p.srv.closeByClient(w.c, endClient) }
func (w *simWire) Drain(ctx context.Context) error { return w.p.srv.drain(ctx, w.c) }

func (w *simWire) Next() (wire.Frame, error) {
	f, end := w.p.srv.next(w.c)
	if end != endNone {
		return wire.Frame{}, simEndError(end, w.c)
	}
	switch f.kind {
	case frameEvent:
		return wire.Frame{Kind: wire.Notify, Event: wire.Event{
			Topic:         f.topic,
			Version:       "2",
			CorrelationID: strconv.Itoa(f.seq),
			Body:          simBody(f.seq),
			Received:      w.p.srv.clk.Now(),
		}}, nil
	case frameClosing:
		return wire.Frame{Kind: wire.Closing}, nil
	}
	return wire.Frame{Kind: wire.Alive}, nil
}

// Change puts the set; if the server refuses it as a whole, it narrows
// down the topics added, as genesys does: the set without them is put
// back, so the topics the channel held stay, and the added ones are added
// in halves. A replay (open) adds all, so it starts from an empty set.
func (w *simWire) Change(ctx context.Context, all, added, _ []string) ([]wire.Rejection, error) {
	rej, err := w.change(ctx, all, added)
	if err == nil {
		w.held = slices.DeleteFunc(slices.Clone(all), func(t string) bool {
			return slices.ContainsFunc(rej, func(r wire.Rejection) bool { return r.Topic == t })
		})
	}
	return rej, err
}

func (w *simWire) change(ctx context.Context, all, added []string) ([]wire.Rejection, error) {
	srv := w.p.srv
	srv.changing(w.c, all)
	defer srv.changed(w.c)
	a := srv.change(ctx, w.c, opPut, all)
	if a.st == stBadRequest && len(added) > 0 {
		base := slices.DeleteFunc(slices.Clone(all), func(t string) bool { return slices.Contains(added, t) })
		if a = srv.change(ctx, w.c, opPut, base); a.st == stOK {
			more, err := w.narrow(ctx, added)
			return append(simRejections(a.refused), more...), err
		}
	}
	if a.st != stOK {
		return nil, simError(a, "subscribing on "+w.c.sess.id)
	}
	return simRejections(a.refused), nil
}

// narrow adds topics, halving every part the server refuses as a whole.
func (w *simWire) narrow(ctx context.Context, topics []string) ([]wire.Rejection, error) {
	a := w.p.srv.change(ctx, w.c, opPost, topics)
	switch {
	case a.st == stOK:
		return simRejections(a.refused), nil
	case a.st != stBadRequest:
		return nil, simError(a, "subscribing on "+w.c.sess.id)
	case len(topics) == 1:
		return []wire.Rejection{{Topic: topics[0], Reason: a.reason}}, nil
	}
	half := len(topics) / 2
	first, err := w.narrow(ctx, topics[:half])
	if err != nil {
		return nil, err
	}
	second, err := w.narrow(ctx, topics[half:])
	return append(first, second...), err
}

func (w *simWire) Renew(ctx context.Context) ([]wire.Rejection, error) {
	return w.Change(ctx, w.held, nil, nil)
}

func simRejections(topics []string) []wire.Rejection {
	var rej []wire.Rejection
	for _, t := range topics {
		rej = append(rej, wire.Rejection{Topic: t, Reason: "missing permission", MissingPermissions: []string{"sim:notify"}})
	}
	return rej
}

func simBody(seq int) []byte { return []byte(`{"seq":` + strconv.Itoa(seq) + `}`) }

// simError is the error a real protocol returns for the answer.
func simError(a simAnswer, what string) error {
	switch a.st {
	case stBadRequest:
		return &wire.HTTPError{Status: http.StatusBadRequest, Code: "bad.request", Message: a.reason}
	case stUnauthorized:
		return &wire.HTTPError{Status: http.StatusUnauthorized, Code: "authentication.required"}
	case stGone:
		return wire.Classed(wire.FreshSession, fmt.Errorf("%w: %s", wire.ErrChannelGone, what))
	case stTooMany:
		return &wire.HTTPError{Status: http.StatusTooManyRequests, Code: "too.many.requests.retry.after", RetryAfter: a.after}
	case stUnavailable:
		return &wire.HTTPError{Status: http.StatusServiceUnavailable, Code: "service.unavailable"}
	case stTimeout:
		return fmt.Errorf("sim: %s: no answer within %v", what, simRESTTimeout)
	case stCanceled:
		return fmt.Errorf("sim: %s: %w", what, a.ctxErr)
	case stCredentials:
		return fmt.Errorf("sim: fetching a token: %w", wire.ErrUnauthorized)
	}
	return nil
}

// simEndError is what Next returns once a socket has ended.
func simEndError(end simEnd, c *simConn) error {
	err := fmt.Errorf("sim: socket %v %s", c, simEndNames[end])
	switch end {
	case endEvict:
		return wire.Classed(wire.FreshSession, fmt.Errorf("%w: %w", wire.ErrChannelGone, err))
	case endRevoke:
		return wire.Classed(wire.FreshToken, fmt.Errorf("%w: %w", wire.ErrTokenRevoked, err))
	}
	return err
}
