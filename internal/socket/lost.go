package socket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/coder/websocket"
)

// Lost words err, the error of a read of the socket named where (such as
// "channel streaming-0-…"), for a person: what happened in plain words
// first, then where and the transport's detail:
//
//	notify: connection lost: the server closed it; channel streaming-0-…: failed to get reader: failed to read frame header: EOF
//
// The result wraps err, so errors.Is and errors.As match what they
// matched before.
func Lost(where string, err error) error {
	return &lostError{why: why(err), where: where, err: err}
}

type lostError struct {
	why, where string
	err        error
}

func (e *lostError) Error() string {
	return "notify: connection lost: " + e.why + "; " + e.where + ": " + e.err.Error()
}

func (e *lostError) Unwrap() error { return e.err }

// why says in plain words why a read of a socket failed.
func why(err error) string {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return closeWhy(ce)
	case errors.Is(err, websocket.ErrMessageTooBig):
		return "a message was larger than the read limit"
	case errors.Is(err, net.ErrClosed), errors.Is(err, context.Canceled):
		return "this client closed it"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed it"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "the network dropped it"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "the network dropped it"
	}
	return "the socket failed"
}

// closeNames are the close codes a server sends, in words.
var closeNames = map[websocket.StatusCode]string{
	websocket.StatusNormalClosure:   "normal closure",
	websocket.StatusGoingAway:       "going away",
	websocket.StatusProtocolError:   "protocol error",
	websocket.StatusPolicyViolation: "policy violation",
	websocket.StatusMessageTooBig:   "message too big",
	websocket.StatusInternalError:   "internal error",
	websocket.StatusServiceRestart:  "service restart",
	websocket.StatusTryAgainLater:   "try again later",
}

// closeWhy words a close frame: "the server closed it with status 1001
// (going away)", and the server's reason, if it gave one.
func closeWhy(ce websocket.CloseError) string {
	s := fmt.Sprintf("the server closed it with status %d", int(ce.Code))
	if name, ok := closeNames[ce.Code]; ok {
		s += " (" + name + ")"
	}
	if ce.Reason != "" {
		s += fmt.Sprintf(": %q", ce.Reason)
	}
	return s
}
