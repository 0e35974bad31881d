package notify

import (
	"context"
	"sync/atomic"
	"time"
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
	// read returns the next frame. ctx lives as long as the connection.
	read(ctx context.Context) (frame, error)
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

func (a *activity) touch()          { a.ns.Store(time.Now().UnixNano()) }
func (a *activity) seen() time.Time { return time.Unix(0, a.ns.Load()) }
