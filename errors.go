package notify

import (
	"errors"
	"time"

	"github.com/gcnotify/notify/internal/wire"
)

// Errors returned by the client or carried by Disconnected events. Match
// them with errors.Is.
var (
	// ErrClosed is returned by Run after Close, by calls on a closed
	// client, and by calls in flight when the client closes. A client is
	// closed by Close and once Run has returned.
	ErrClosed = errors.New("notify: client closed")
	// ErrAlreadyRunning is returned by a second Run while the first runs.
	ErrAlreadyRunning = errors.New("notify: Run is already running")
	// ErrUnauthorized means the server refused a freshly fetched token, or
	// the token endpoint refused the client's credentials.
	ErrUnauthorized = wire.ErrUnauthorized
	// ErrRejected means the server refused to subscribe a topic; the topic
	// was removed from the set and a Rejected event tells why.
	ErrRejected = errors.New("notify: topic rejected")
	// ErrInvalidTopic means a topic name is empty or malformed, or, with
	// WithTopicCatalog, that the server's topic catalog refuses it.
	ErrInvalidTopic = wire.ErrInvalidTopic
	// ErrTooManyTopics means the set would exceed MaxTopics.
	ErrTooManyTopics = errors.New("notify: too many topics")
	// ErrInsecureURL means the client refused a URL: plain http:// or ws://
	// off loopback, or a stream host that the configuration does not name.
	ErrInsecureURL = wire.ErrInsecureURL
	// ErrHeartbeatTimeout means the socket stayed silent, even to a ping.
	ErrHeartbeatTimeout = errors.New("notify: no heartbeat")
	// ErrChannelGone means the server ended the channel (expiry, eviction).
	ErrChannelGone = wire.ErrChannelGone
	// ErrTokenRevoked means the server revoked the token behind the channel.
	ErrTokenRevoked = wire.ErrTokenRevoked
	// ErrPlannedClose means the server announced that it will close the socket.
	ErrPlannedClose = errors.New("notify: server announced a socket close")
	// ErrUnknownEnvironment means an environment given to WithEnvironment
	// or ClientCredentials is none of Environments; New returns it, and
	// the error lists the valid ones.
	ErrUnknownEnvironment = errors.New("notify: unknown environment")
)

// APIError is a non-2xx answer of the Genesys Cloud REST API.
type APIError struct {
	Status     int           // HTTP status code
	Code       string        // Genesys error code, such as "too.many.requests.retry.after"
	Message    string        // human-readable message from the server
	RetryAfter time.Duration // from the Retry-After header; zero if absent
}

// Error describes the answer without anything the request carried.
func (e *APIError) Error() string {
	return (*wire.HTTPError)(e).Error()
}

// public converts the protocol's error to what users see: an *APIError
// for an answer of the REST API, found by errors.As, beside the original
// chain, found by errors.Is.
func public(err error) error {
	var he *wire.HTTPError
	if err == nil || !errors.As(err, &he) {
		return err
	}
	return &publicError{err: err, api: (*APIError)(he)}
}

type publicError struct {
	err error
	api *APIError
}

func (e *publicError) Error() string   { return e.err.Error() }
func (e *publicError) Unwrap() []error { return []error{e.api, e.err} }
