package notifytest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// failure is the state of FailNext.
type failure struct {
	n          int
	status     int
	retryAfter time.Duration
}

// FailNext makes the next n REST requests, to any endpoint and before
// authorization, answer status with the error body instead of being
// served. When retryAfter > 0 the responses carry a Retry-After header with
// retryAfter rounded up to whole seconds. Status 429 uses the code
// "too.many.requests.retry.after" and 5xx statuses "internal.server.error".
// WebSocket upgrades are not affected.
//
// A call replaces the failures still pending from a previous one; n <= 0
// cancels them. FailNext panics if status is not in [400, 599].
func (s *Server) FailNext(n int, status int, retryAfter time.Duration) {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("notifytest: FailNext: status %d is not an error status", status))
	}
	s.mu.Lock()
	s.fail = failure{n: max(n, 0), status: status, retryAfter: retryAfter}
	s.mu.Unlock()
}

// injectFailure answers r with a pending FailNext failure, if any.
func (s *Server) injectFailure(w http.ResponseWriter) bool {
	s.mu.Lock()
	f := s.fail
	if f.n > 0 {
		s.fail.n--
	}
	s.mu.Unlock()
	if f.n <= 0 {
		return false
	}

	msg := fmt.Sprintf("Injected failure (%d %s).", f.status, http.StatusText(f.status))
	if f.retryAfter > 0 {
		secs := strconv.FormatInt(int64(math.Ceil(f.retryAfter.Seconds())), 10)
		w.Header().Set("Retry-After", secs)
		if f.status == http.StatusTooManyRequests {
			msg = "Rate limit exceeded the maximum. Retry the request in [" + secs + "] seconds"
		}
	}
	writeError(w, f.status, errorCode(f.status), msg)
	return true
}

// errorCode returns the Genesys Cloud error code used for status.
func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "bad.credentials"
	case http.StatusForbidden:
		return "missing.any.permissions"
	case http.StatusNotFound:
		return "not.found"
	case http.StatusMethodNotAllowed:
		return "method.not.allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusTooManyRequests:
		return "too.many.requests.retry.after"
	}
	if status >= 500 {
		return "internal.server.error"
	}
	return "bad.request"
}

// openSockets returns the sockets that are open and not closing.
func (s *Server) openSockets() []*socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*socket, 0, len(s.socks))
	for sk := range s.socks {
		if !sk.closing.Load() {
			out = append(out, sk)
		}
	}
	return out
}

// socketByID returns the socket open on the channel id or, if there is no
// such channel, the authenticated token-frame socket with connection id
// id, or nil.
func (s *Server) socketByID(id string) *socket {
	if sk := s.channelSocket(id); sk != nil {
		return sk
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tfConns[id]
}

// channelSocket returns the socket open on the channel, or nil.
func (s *Server) channelSocket(channelID string) *socket {
	var dead []*socket
	s.mu.Lock()
	var sk *socket
	if ch := s.lookupLocked(channelID, &dead); ch != nil {
		sk = ch.sock
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	return sk
}

// DropAll closes every open socket, channel and token-frame sockets alike,
// abruptly: the underlying connection is closed without a close frame, as
// websocket.Conn.CloseNow does. The channels remain; the subscriptions of
// a token-frame socket end with it.
func (s *Server) DropAll() {
	for _, sk := range s.openSockets() {
		sk.kill()
	}
}

// CloseAll closes every open socket, channel and token-frame sockets alike,
// with a close frame carrying code and reason. The close handshake
// completes in the background; stalled sockets are closed abruptly
// instead. The channels remain; the subscriptions of a token-frame socket
// end with it.
func (s *Server) CloseAll(code websocket.StatusCode, reason string) {
	for _, sk := range s.openSockets() {
		s.retire(sk, nil, code, reason)
	}
}

// Stall makes every currently open socket, channel and token-frame sockets
// alike, silent, as if the network had dropped it while TCP stays open: no
// events, heartbeats, replies, pongs (to {"message":"ping"} or to WebSocket
// pings), system messages, error frames or raw frames are written to it any
// more, and Publish does not count it. The server still reads and discards
// what the client sends: a stalled token-frame socket ignores its
// access_token, topic and unsubscribe frames (a close frame from the client
// is still answered by the WebSocket library). Closing a stalled socket
// (Evict, CloseAll, ExpireTokens, a replacing socket, ...) is abrupt.
// Sockets opened later are normal.
func (s *Server) Stall() {
	for _, sk := range s.openSockets() {
		sk.stall()
	}
}

// Evict removes the channel, as when it expires: its socket, if any, gets
// v2.system.no_longer_subscribed.{id} and is closed with
// websocket.StatusNormalClosure; REST requests and dials on the channel
// answer 404. Unknown ids are ignored.
func (s *Server) Evict(channelID string) {
	var dead []*socket
	s.mu.Lock()
	if ch := s.lookupLocked(channelID, &dead); ch != nil {
		if sk := s.removeLocked(ch); sk != nil {
			dead = append(dead, sk)
		}
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
}

// SocketClosing sends the v2.system.socket_closing warning on the channel's
// socket, if any. The socket stays open.
func (s *Server) SocketClosing(channelID string) {
	if sk := s.channelSocket(channelID); sk != nil {
		sk.send(socketClosingFrame(channelID))
	}
}

// TokenRevoked removes the channel; its socket, if any, gets
// v2.system.token_revoked.{id} and is closed with status 4001.
func (s *Server) TokenRevoked(channelID string) {
	var dead []*socket
	var sk *socket
	s.mu.Lock()
	if ch := s.lookupLocked(channelID, &dead); ch != nil {
		sk = s.removeLocked(ch)
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	if sk != nil {
		s.retire(sk, tokenRevokedFrame(channelID), statusTokenRevoked, "token revoked")
	}
}

// SendRaw writes frame verbatim as a text message to the channel's socket,
// if any, or to the authenticated token-frame socket whose connection id is
// id, for instance to test how a client handles garbage.
func (s *Server) SendRaw(id string, frame []byte) {
	if sk := s.socketByID(id); sk != nil {
		sk.send(frame)
	}
}

// ExpireTokens ends every open token-frame socket, authenticated or not, as
// when its token expires: it gets
//
//	{"event":"error","data":{"status":401,"message":"token expired"}}
//
// and is closed with status 4001. Stalled sockets are closed abruptly.
// Channel sockets are not affected.
func (s *Server) ExpireTokens() {
	for _, sk := range s.openSockets() {
		if sk.tf != nil {
			s.retire(sk, tokenExpiredFrame, statusTokenRevoked, "token expired")
		}
	}
}
