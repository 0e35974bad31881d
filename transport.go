package notify

import (
	"context"
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
	// ping asks the server for a sign of life.
	ping(ctx context.Context) error
	// drain returns once every frame the server sent before the call has
	// been read by read, or ctx ends.
	drain(ctx context.Context) error
	// renewAt is when update must be called to keep the connection
	// from expiring; zero if never.
	renewAt() time.Time
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
