package notifytest

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// tokenFrameState is the state of a token-frame socket. auths and topics
// are guarded by Server.mu and changed only by the socket's handler.
type tokenFrameState struct {
	seq    uint64 // acceptance order, the N of the id "tokenframe-N"
	auths  int    // accepted access_token frames
	topics map[string]struct{}
}

// Connection describes an open, authenticated token-frame socket, as
// returned by Server.TokenFrameConnections.
type Connection struct {
	// ID is the connection id, "tokenframe-N", where N counts the
	// token-frame sockets accepted by the server, from 1.
	ID string
	// Topics is the subscription set of the socket, sorted; nil if empty.
	Topics []string
	// Auths counts the access_token frames accepted on the socket, the
	// first one included.
	Auths int
}

// clientFrame is a frame sent by a token-frame client.
type clientFrame struct {
	AccessToken *string `json:"access_token"`
	Topic       *string `json:"topic"`
	Unsubscribe *string `json:"unsubscribe"`
}

// TokenFrameURL returns the token-frame endpoint,
// "ws://127.0.0.1:PORT/api/v2/notifications".
func (s *Server) TokenFrameURL() string {
	return s.wsURL + tokenFramePath
}

// TokenFrameConnections returns the open, authenticated token-frame
// sockets, oldest first.
func (s *Server) TokenFrameConnections() []Connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	socks := make([]*socket, 0, len(s.tfConns))
	for _, sk := range s.tfConns {
		socks = append(socks, sk)
	}
	slices.SortFunc(socks, func(a, b *socket) int {
		return cmp.Compare(a.tf.seq, b.tf.seq)
	})
	out := make([]Connection, len(socks))
	for i, sk := range socks {
		out[i] = Connection{ID: sk.id, Topics: sortedTopics(sk.tf.topics), Auths: sk.tf.auths}
	}
	return out
}

// serveTokenFrame upgrades GET /api/v2/notifications and serves the
// token-frame protocol on the socket until it closes.
func (s *Server) serveTokenFrame(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "service.unavailable", "The server is closed.")
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	sk := &socket{s: s, tf: &tokenFrameState{topics: make(map[string]struct{})}, gone: make(chan struct{})}
	rec := &hijackRecorder{ResponseWriter: w}
	conn, err := websocket.Accept(rec, r, &websocket.AcceptOptions{
		// The token comes in the first frame; there is no origin to check.
		InsecureSkipVerify: true,
		OnPingReceived:     sk.allowPong,
	})
	if err != nil {
		return
	}
	defer close(sk.gone)

	s.mu.Lock()
	sk.conn, sk.raw = conn, rec.conn
	if s.closed {
		s.mu.Unlock()
		conn.CloseNow()
		return
	}
	s.tfSeq++
	sk.tf.seq = s.tfSeq
	sk.id = "tokenframe-" + strconv.FormatUint(s.tfSeq, 10)
	s.socks[sk] = struct{}{}
	s.stats.Sockets++
	s.stats.Open++
	wait := s.authTimeout
	s.mu.Unlock()
	conn.SetReadLimit(readLimit)

	// A socket that does not present a token in time is refused.
	fired := make(chan struct{})
	timer := time.AfterFunc(wait, func() {
		defer close(fired)
		s.refuse(sk, "no access token within "+wait.String())
	})
	stopTimer := sync.OnceFunc(func() {
		if !timer.Stop() {
			<-fired
		}
	})

	sk.tokenFrameLoop(stopTimer)

	stopTimer()
	s.mu.Lock()
	delete(s.socks, sk)
	s.stats.Open--
	s.mu.Unlock()
	sk.kill()
}

// tokenFrameLoop reads client frames until the connection fails or is
// closed, and answers them. The replies are written by this goroutine, in
// order, after the state they report has changed. authDone stops the
// timer that refuses a socket without an access_token frame; it is called
// when the first frame is handled.
func (sk *socket) tokenFrameLoop(authDone func()) {
	s := sk.s
	authed := false
	for {
		typ, data, err := sk.conn.Read(context.Background())
		if err != nil {
			return
		}
		// A closing socket is done; a stalled one has lost what the client
		// sends.
		if sk.closing.Load() || sk.stalled.Load() {
			continue
		}
		var f clientFrame
		valid := typ == websocket.MessageText && json.Unmarshal(data, &f) == nil

		if !authed {
			authDone()
			switch {
			case sk.closing.Load(): // refused by the timer meanwhile
			case !valid || f.AccessToken == nil:
				s.refuse(sk, "the first frame must be an access_token frame")
			default:
				authed = sk.authenticate(*f.AccessToken, true)
			}
			continue
		}

		switch {
		case !valid:
			// Unknown frames are ignored.
		case f.AccessToken != nil:
			sk.authenticate(*f.AccessToken, false)
		case f.Topic != nil:
			if *f.Topic != "" {
				sk.subscribe(*f.Topic)
			}
		case f.Unsubscribe != nil:
			if *f.Unsubscribe != "" {
				sk.unsubscribe(*f.Unsubscribe)
			}
		}
	}
}

// authenticate handles an access_token frame, the first one or a later
// one, and reports whether the token was accepted. A refused token ends
// the socket.
func (sk *socket) authenticate(token string, first bool) bool {
	s := sk.s
	if !s.authorize(token) {
		// The message never contains the token.
		s.refuse(sk, "invalid access token")
		return false
	}
	s.mu.Lock()
	sk.tf.auths++
	registered := false
	if !first {
		s.stats.Reauths++
	} else if !sk.closing.Load() {
		// Registered before "connected" is written: a client that read it
		// finds its connection in TokenFrameConnections.
		s.tfConns[sk.id] = sk
		s.signalSubscribedLocked()
		registered = true
	}
	s.mu.Unlock()

	sk.send(tfConnectedFrame)
	if registered {
		select {
		case s.sockets <- sk.id:
		default:
		}
	}
	return true
}

// subscribe handles a topic frame: the topic is added to the set (or
// refused) before the reply is written, so that a client that read
// "subscribed" gets every later Publish.
func (sk *socket) subscribe(topic string) {
	s := sk.s
	s.mu.Lock()
	_, dup := sk.tf.topics[topic]
	if dup {
		s.stats.DuplicateSubscribes++
	}
	s.mu.Unlock()
	if dup {
		sk.send(tfReplyFrame("subscribed", topic))
		return
	}

	if ok, reason, missing := s.cfg.Permit(topic); !ok {
		if reason == "" {
			reason = "Permission denied"
		}
		if len(missing) > 0 {
			reason += " (missing permissions: " + strings.Join(missing, ", ") + ")"
		}
		sk.send(tfErrorFrame(http.StatusForbidden, topic, reason))
		return
	}

	s.mu.Lock()
	full := len(sk.tf.topics) >= s.cfg.MaxTopics
	if !full {
		sk.tf.topics[topic] = struct{}{}
		s.signalSubscribedLocked()
	}
	s.mu.Unlock()
	if full {
		sk.send(tfErrorFrame(http.StatusBadRequest, topic,
			"A connection cannot be subscribed to more than "+strconv.Itoa(s.cfg.MaxTopics)+" topics."))
		return
	}
	sk.send(tfReplyFrame("subscribed", topic))
}

// unsubscribe handles an unsubscribe frame; removing a topic that is not
// subscribed is answered the same way.
func (sk *socket) unsubscribe(topic string) {
	sk.s.mu.Lock()
	delete(sk.tf.topics, topic)
	sk.s.mu.Unlock()
	sk.send(tfReplyFrame("unsubscribed", topic))
}

// refuse ends a token-frame socket because of its token: an error frame
// with status 401 and message, then close status 4001.
func (s *Server) refuse(sk *socket, message string) {
	s.retire(sk, tfErrorFrame(http.StatusUnauthorized, "", message), statusTokenRevoked, message)
}
