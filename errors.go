package notify

import (
	"errors"
	"strconv"
	"time"

	"github.com/gcnotify/notify/internal/genesys"
)

// Errors returned by the client or carried by Disconnected events. Match
// them with errors.Is.
var (
	// ErrClosed is returned by Run after Close, and by calls on a closed client.
	ErrClosed = errors.New("notify: client closed")
	// ErrUnauthorized means the server refused a freshly fetched token.
	ErrUnauthorized = errors.New("notify: unauthorized")
	// ErrRejected means the server refused to subscribe a topic; the topic
	// was removed from the set and a Rejected event tells why.
	ErrRejected = errors.New("notify: topic rejected")
	// ErrInvalidTopic means a topic name is empty or malformed.
	ErrInvalidTopic = errors.New("notify: invalid topic")
	// ErrTooManyTopics means the set would exceed MaxTopics.
	ErrTooManyTopics = errors.New("notify: too many topics")
	// ErrInsecureURL means the client refused a URL: plain http:// or ws://
	// off loopback, or a stream host that the configuration does not name.
	ErrInsecureURL = errors.New("notify: refusing insecure or unexpected URL")
	// ErrHeartbeatTimeout means the socket stayed silent, even to a ping.
	ErrHeartbeatTimeout = errors.New("notify: socket silent past the heartbeat timeout")
	// ErrChannelGone means the server ended the channel (expiry, eviction).
	ErrChannelGone = errors.New("notify: channel no longer exists")
	// ErrTokenRevoked means the server revoked the token behind the channel.
	ErrTokenRevoked = errors.New("notify: token revoked")
	// ErrPlannedClose means the server announced that it will close the socket.
	ErrPlannedClose = errors.New("notify: server announced a socket close")
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
	s := "notify: HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// apiError converts the REST layer's error to the public *APIError and
// leaves other errors alone.
func apiError(err error) error {
	var ge *genesys.Error
	if errors.As(err, &ge) {
		return &APIError{Status: ge.Status, Code: ge.Code, Message: ge.Message, RetryAfter: ge.RetryAfter}
	}
	return err
}

// statusOf returns the HTTP status of an *APIError in err's chain, or 0.
func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}
