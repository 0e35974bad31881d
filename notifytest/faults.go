package notifytest

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// failure is the state of FailNext, of one pattern of FailNextOn, or of
// FailUpgrades.
type failure struct {
	n          int
	status     int
	retryAfter time.Duration
}

// FailNext makes the next n requests to the REST API, to any of its
// endpoints and before authorization, answer status with the error body
// instead of being served. When retryAfter > 0 the responses carry a
// Retry-After header with retryAfter rounded up to whole seconds. Status 429
// uses the code "too.many.requests.retry.after" and 5xx statuses
// "internal.server.error". WebSocket upgrades (see FailUpgrades) and the
// token endpoint (see TokenURL), which Genesys serves on other hosts, are
// not affected. A request that a FailNextOn pattern fails does not use up
// a FailNext failure.
//
// A call replaces the failures still pending from a previous one; n <= 0
// cancels them. FailNext panics if status is not in [400, 599].
func (s *Server) FailNext(n int, status int, retryAfter time.Duration) {
	checkErrorStatus("FailNext", status)
	s.mu.Lock()
	s.fail = failure{n: max(n, 0), status: status, retryAfter: retryAfter}
	s.mu.Unlock()
}

// FailNextOn is FailNext for the requests whose URL path matches pattern,
// in the syntax of path.Match: "/api/v2/analytics/queues/observations/query"
// fails only observation queries, "/api/v2/users/*/presences/purecloud"
// every single-user presence read, "/oauth/token" the token endpoint (with
// an OAuth error body, see TokenURL). Each pattern has its own pending
// failures, which a later call with the same pattern replaces; n <= 0
// cancels them. When several patterns match a request, the first in
// lexical order answers it. WebSocket upgrades are not affected (see
// FailUpgrades).
//
// FailNextOn panics if status is not in [400, 599] or pattern is malformed.
func (s *Server) FailNextOn(pattern string, n, status int, retryAfter time.Duration) {
	checkErrorStatus("FailNextOn", status)
	if _, err := path.Match(pattern, ""); err != nil {
		panic(fmt.Sprintf("notifytest: FailNextOn: pattern %q: %v", pattern, err))
	}
	s.mu.Lock()
	if n <= 0 {
		delete(s.failOn, pattern)
	} else {
		s.failOn[pattern] = failure{n: n, status: status, retryAfter: retryAfter}
	}
	s.mu.Unlock()
}

// FailUpgrades makes the next n WebSocket upgrades, to a channel's
// connectUri or to TokenFrameURL, answer status with the JSON error body of
// the REST API instead of upgrading. A call replaces the failures still
// pending from a previous one; n <= 0 cancels them. FailUpgrades panics if
// status is not in [400, 599].
func (s *Server) FailUpgrades(n int, status int) {
	checkErrorStatus("FailUpgrades", status)
	s.mu.Lock()
	s.failUp = failure{n: max(n, 0), status: status}
	s.mu.Unlock()
}

func checkErrorStatus(fn string, status int) {
	if status < 400 || status > 599 {
		panic(fmt.Sprintf("notifytest: %s: status %d is not an error status", fn, status))
	}
}

// take uses up one pending failure of f and reports whether there was one.
func (f *failure) take() (failure, bool) {
	if f.n <= 0 {
		return failure{}, false
	}
	f.n--
	return *f, true
}

// injectFailure answers r with a pending failure of FailNextOn or, if
// anyEndpoint is set, of FailNext, if any.
func (s *Server) injectFailure(w http.ResponseWriter, r *http.Request, anyEndpoint bool) bool {
	s.mu.Lock()
	var f failure
	ok := false
	for _, pattern := range slices.Sorted(maps.Keys(s.failOn)) {
		if matched, _ := path.Match(pattern, r.URL.Path); !matched {
			continue
		}
		pending := s.failOn[pattern]
		f, ok = pending.take()
		if pending.n > 0 {
			s.failOn[pattern] = pending
		} else {
			delete(s.failOn, pattern)
		}
		break
	}
	if !ok && anyEndpoint {
		f, ok = s.fail.take()
	}
	s.mu.Unlock()
	if !ok {
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
	if r.URL.Path == tokenPath {
		writeOAuthError(w, f.status, oauthErrorCode(f.status), msg)
	} else {
		writeError(w, f.status, errorCode(f.status), msg)
	}
	return true
}

// injectUpgradeFailure answers an upgrade request with a pending
// FailUpgrades failure, if any.
func (s *Server) injectUpgradeFailure(w http.ResponseWriter) bool {
	s.mu.Lock()
	f, ok := s.failUp.take()
	s.mu.Unlock()
	if ok {
		writeError(w, f.status, errorCode(f.status), fmt.Sprintf("Injected upgrade failure (%d %s).", f.status, http.StatusText(f.status)))
	}
	return ok
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

// SocketClosing warns the channel's socket, if any, that it will be
// closed, as Genesys does before maintenance: it gets
// v2.system.socket_closing, and Config.SocketClosingDelay later it is
// closed with status 1001 (going away), unless it has closed before. The
// channel and its subscriptions remain, so the client may open a new
// socket on it, or hand over to a new channel, at once.
func (s *Server) SocketClosing(channelID string) {
	if sk := s.channelSocket(channelID); sk != nil {
		s.warnClosing(sk)
	}
}

// SocketClosingAll is SocketClosing for every open channel socket at once,
// as when a whole node goes down for maintenance. Token-frame sockets are
// not affected.
func (s *Server) SocketClosingAll() {
	var wg sync.WaitGroup
	for _, sk := range s.openSockets() {
		if sk.tf == nil {
			wg.Go(func() { s.warnClosing(sk) })
		}
	}
	wg.Wait()
}

// warnClosing writes the socket_closing warning to sk, and closes it after
// the delay in the background.
func (s *Server) warnClosing(sk *socket) {
	sk.send(socketClosingFrame(s.origin(sk.id)))
	d := s.cfg.SocketClosingDelay
	s.mu.Lock()
	hook := s.hookWarnDone
	s.mu.Unlock()
	s.spawn(func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			s.retire(sk, nil, websocket.StatusGoingAway, "socket closing")
		case <-sk.gone:
		case <-s.done:
		}
		if hook != nil {
			hook(sk.id)
		}
	})
}

// TokenRevoked removes the channel, as when the token behind it is
// revoked: its socket, if any, gets v2.system.token_revoked.{id} and is
// closed with status 4001, and the token that created the channel and the
// last one used on it in a REST request are refused from then on (REST
// requests answer 401, access_token frames are refused). Unknown ids are
// ignored.
func (s *Server) TokenRevoked(channelID string) {
	var dead []*socket
	var sk *socket
	s.mu.Lock()
	if ch := s.lookupLocked(channelID, &dead); ch != nil {
		s.revokeLocked(ch.token, ch.lastToken)
		sk = s.removeLocked(ch)
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	if sk != nil {
		s.retire(sk, tokenRevokedFrame(s.origin(channelID)), statusTokenRevoked, "token revoked")
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

// ExpireTokens expires every token accepted or issued so far: from then
// on REST requests with one answer 401 and access_token frames with one are
// refused; tokens first seen later, such as new ones from the token
// endpoint, are accepted. Every open token-frame socket, authenticated or
// not, gets
//
//	{"event":"error","data":{"status":401,"message":"token expired"}}
//
// and is closed with status 4001; stalled ones are closed abruptly.
// Channel sockets stay open: their channels do not depend on a token.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	s.revokeAllLocked()
	s.mu.Unlock()
	for _, sk := range s.openSockets() {
		if sk.tf != nil {
			s.retire(sk, tokenExpiredFrame, statusTokenRevoked, "token expired")
		}
	}
}
