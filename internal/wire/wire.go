// Package wire is the contract between the engine (package notify) and a
// wire protocol (packages genesys and tokenframe): what a protocol must do
// and how it classifies its errors. The engine decides by class only; the
// words of a protocol (system topics, frame kinds, close codes) stay in
// its package.
package wire

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify/internal/clock"
)

// Protocol opens connections for one channel's worth of topics. It is used
// by one owner goroutine at a time and may keep state between dials (a
// Genesys channel is reused until it is gone).
type Protocol interface {
	// Dial opens a connection with topics subscribed, so every event
	// published after it returns reaches the connection, and returns the
	// topics the server refused. after is the class of what ended the
	// previous connection (Transient before the first), so the protocol
	// knows what it may reuse; FreshSession also asks for another session
	// while the old connection is still open (a handover). reuse, if not
	// nil, is a session to open the connection on: one a handover left.
	Dial(ctx context.Context, topics []string, after Class, reuse Session) (Conn, []Rejection, error)
}

// Session is what connections are opened on (a Genesys channel), opaque
// to the engine, which hands a session that a handover left to the next
// handover instead of making the protocol create one.
type Session interface {
	SessionID() string
}

// OnSession is implemented by the connections of a protocol with
// sessions: the session a connection is on.
type OnSession interface {
	Session() Session
}

// StateReader is implemented by a protocol that can read the state of
// topics over REST, for snapshots after a gap.
type StateReader interface {
	// ReadState reads the state of what it can of topics. It returns a
	// body per topic read, named as the topic's notifications are (a
	// combined topic yields its expansion), in the shape of their bodies;
	// the topics it read nothing for; and why, or nil if those simply
	// have no reader.
	ReadState(ctx context.Context, topics []string) (read map[string][]byte, skipped []string, err error)
}

// Conn is one open connection. Next is called by one reader goroutine;
// the other methods by the owner's tasks, Close from anywhere.
type Conn interface {
	// ID names the connection: the channel id, or for a protocol without
	// channels the endpoint and the shard.
	ID() string
	// Next returns the next frame. It returns an error, classified, once
	// the connection has ended or Close was called.
	Next() (Frame, error)
	// Seen is when the connection last showed a sign of life: any frame,
	// or the answer to a ping.
	Seen() time.Time
	// Drain asks the server for a sign of life, which shows in Seen, and
	// returns once every frame the server sent before the call has been
	// returned by Next, or ctx ends.
	Drain(ctx context.Context) error
	// Change makes the server's set all, where added and removed are the
	// difference from the set it holds, and returns the refused topics.
	// If the server refuses the change as a whole, only added may be
	// narrowed down: the topics it held stay subscribed.
	Change(ctx context.Context, all, added, removed []string) ([]Rejection, error)
	// RenewAt is when Renew must be called to keep the connection from
	// expiring; zero if never.
	RenewAt() time.Time
	// Renew keeps the connection from expiring, and returns the topics
	// the server now refuses.
	Renew(ctx context.Context) ([]Rejection, error)
	// Leave ends the connection with a close handshake, so the server
	// knows it ended when Leave returns; Next then returns an error.
	Leave()
	// Close ends the connection at once; Next then returns an error.
	Close()
}

// Kind classifies a frame.
type Kind int

const (
	// Alive is a heartbeat, a pong or a protocol reply: proof of life only.
	Alive Kind = iota
	// Notify is an event for the user.
	Notify
	// Closing announces that the server will close the connection soon.
	Closing
	// Invalid is a frame that could not be decoded; Frame.Err says why.
	Invalid
)

// Frame is what Next read.
type Frame struct {
	Kind  Kind
	Event Event // for Notify
	Err   error // for Invalid
}

// Event is a notification as read off the wire.
type Event struct {
	Topic, Version, CorrelationID string
	Body                          []byte // owned by the receiver
	Received                      time.Time
}

// Rejection is a topic the server refused to subscribe.
type Rejection struct {
	Topic, Reason      string
	MissingPermissions []string
}

// Class says what the engine should do about an error.
type Class int

const (
	// Transient errors are retried with backoff.
	Transient Class = iota
	// RetryAfter errors are retried after at least Error.After.
	RetryAfter
	// FreshSession errors mean the session is gone: the next dial makes
	// a new one.
	FreshSession
	// FreshToken errors mean the token was refused or revoked: the next
	// dial fetches a new token and makes a new session.
	FreshToken
	// Refused errors mean the server refused a request as a whole and
	// will refuse it again unchanged (a 4xx other than those above).
	Refused
	// Permanent errors end the client: retrying cannot help.
	Permanent
)

// Error is an error with its class.
type Error struct {
	Class Class
	After time.Duration // for RetryAfter: the least wait
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Classed wraps err with a class; nil stays nil.
func Classed(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

// ClassOf returns the class of err: Permanent if it matches
// ErrUnauthorized or ErrInsecureURL, else that of the outermost *Error in
// its chain, else that of an *HTTPError by its status, else Transient.
func ClassOf(err error) (Class, time.Duration) {
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrInsecureURL) {
		return Permanent, 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class, e.After
	}
	var h *HTTPError
	if errors.As(err, &h) {
		return h.class()
	}
	return Transient, 0
}

// Errors that protocols return and package notify exports.
var (
	ErrUnauthorized = errors.New("notify: unauthorized")
	ErrInsecureURL  = errors.New("notify: refusing insecure or unexpected URL")
	ErrChannelGone  = errors.New("notify: channel no longer exists")
	ErrTokenRevoked = errors.New("notify: token revoked")
)

// HTTPError is a non-2xx answer of a REST API.
type HTTPError struct {
	Status     int
	Code       string // such as "too.many.requests.retry.after"
	Message    string
	RetryAfter time.Duration // from the Retry-After header; zero if absent
}

func (e *HTTPError) Error() string {
	s := "notify: HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *HTTPError) class() (Class, time.Duration) {
	switch s := e.Status; {
	case s == http.StatusTooManyRequests:
		return RetryAfter, e.RetryAfter
	case s == http.StatusUnauthorized:
		return FreshToken, 0
	case s == http.StatusNotFound:
		return FreshSession, 0
	case s == http.StatusRequestTimeout || s >= 500:
		return Transient, 0
	default:
		return Refused, 0
	}
}

// Tokens is the client's token cache.
type Tokens interface {
	// Token returns a token valid for at least minLife, fetching one if
	// the cached one is not.
	Token(minLife time.Duration) (*oauth2.Token, error)
	// Invalidate forgets the cached token.
	Invalidate()
}

// Budget paces the client's REST calls.
type Budget interface {
	// Wait returns once a call may be made, or ctx's error.
	Wait(ctx context.Context) error
	// Pause makes every call wait d more (a 429's Retry-After).
	Pause(d time.Duration)
}

// Config is what a protocol gets from the engine.
type Config struct {
	HTTP        *http.Client
	Tokens      Tokens
	Budget      Budget
	Clock       clock.Clock
	Log         *slog.Logger
	ReadLimit   int64         // the largest frame accepted
	Heartbeat   time.Duration // the heartbeat timeout; bounds handshakes
	RenewMargin time.Duration // renew this long before expiry, at most half the lifetime
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
