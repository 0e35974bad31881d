package notifytest

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// readLimit is the largest message the server reads from a client.
const readLimit = 64 << 10

// Close statuses used by the server.
const (
	statusReplaced     websocket.StatusCode = 4000 // a newer socket took the channel
	statusTokenRevoked websocket.StatusCode = 4001 // see TokenRevoked; a refused or expired token-frame token
)

// socket is one server side WebSocket: the socket of a channel, or a
// token-frame socket (see tokenframe.go).
type socket struct {
	s    *Server
	id   string           // the channel id, or the token-frame connection id
	tf   *tokenFrameState // nil for the socket of a channel
	conn *websocket.Conn
	raw  net.Conn // the hijacked connection, to abort a close handshake

	gone    chan struct{} // closed when the socket's handler has ended
	batch   *batch        // see awaitPublishes; guarded by Server.mu
	wmu     sync.Mutex    // serializes writes with the decision to close
	closing atomic.Bool   // no more frames are written once set
	stalled atomic.Bool   // see Server.Stall
	written atomic.Int64
}

// serveSocket upgrades GET /channels/{id}.
//
// The channel is marked as upgrading before the 101 response is written and
// until the socket is registered, and awaitUpgrades waits for that: a client
// whose Dial returned can then immediately PUT its subscriptions and expect
// every later Publish to reach its socket.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request, id string) {
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	if s.closed || ch == nil {
		s.mu.Unlock()
		s.noLongerSubscribed(dead)
		channelNotFound(w, id)
		return
	}
	if ch.upgrading == 0 {
		ch.upgraded = make(chan struct{})
	}
	ch.upgrading++
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.noLongerSubscribed(dead)

	// Upgrades of a channel are serialized, so that the socket whose upgrade
	// response is written last is the one that stays registered.
	ch.upgradeMu.Lock()
	sk, old, orphan := s.accept(w, r, ch)
	ch.upgradeMu.Unlock()
	if sk == nil {
		return
	}

	sk.conn.SetReadLimit(readLimit)
	if orphan {
		s.noLongerSubscribed([]*socket{sk})
	} else {
		if old != nil {
			s.retire(old, nil, statusReplaced, "replaced by a new connection")
		}
		select {
		case s.sockets <- id:
		default:
		}
	}

	stop := make(chan struct{})
	hbDone := make(chan struct{})
	if d := s.cfg.HeartbeatInterval; d > 0 {
		go sk.heartbeat(d, stop, hbDone)
	} else {
		close(hbDone)
	}
	sk.readLoop()
	// The channel is unconnected from the moment its socket ends, as far
	// as eviction is concerned.
	s.mu.Lock()
	if ch := s.channels[id]; ch != nil && ch.sock == sk {
		ch.sock = nil
		s.touchLocked(ch, "")
	}
	s.mu.Unlock()
	close(stop)
	<-hbDone

	s.mu.Lock()
	delete(s.socks, sk)
	s.stats.Open--
	s.mu.Unlock()
	sk.kill()
	close(sk.gone)
}

// accept upgrades the connection and registers the socket as the one of
// ch, ending the upgrade that serveSocket started. It returns the socket
// (nil if the upgrade failed or the server is closed) and the socket it
// replaces. orphan reports that the channel was removed during the upgrade:
// the socket is then open but not registered to the channel.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, ch *channel) (sk, old *socket, orphan bool) {
	sk = &socket{s: s, id: ch.id, gone: make(chan struct{})}
	rec := &hijackRecorder{ResponseWriter: w}
	conn, err := websocket.Accept(rec, r, &websocket.AcceptOptions{
		// The channel id is the capability; there is no origin to check.
		InsecureSkipVerify: true,
		OnPingReceived:     sk.allowPong,
	})
	if err == nil {
		s.mu.Lock()
		hook := s.hookAccepted
		s.mu.Unlock()
		if hook != nil {
			hook(ch.id)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch.upgrading--
	if ch.upgrading == 0 {
		close(ch.upgraded)
	}
	if err != nil {
		return nil, nil, false
	}
	sk.conn, sk.raw = conn, rec.conn
	if s.closed {
		conn.CloseNow()
		return nil, nil, false
	}
	s.socks[sk] = struct{}{}
	s.stats.Sockets++
	s.stats.Open++
	if s.channels[ch.id] != ch || !time.Now().Before(ch.expires) {
		return sk, nil, true
	}
	old, ch.sock = ch.sock, sk
	s.touchLocked(ch, "")
	s.signalSubscribedLocked()
	return sk, old, false
}

// readLoop reads client frames until the connection fails or is closed,
// answering {"message":"ping"} with a pong and ignoring everything else.
func (sk *socket) readLoop() {
	for {
		typ, data, err := sk.conn.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var msg struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &msg) == nil && msg.Message == "ping" {
			sk.awaitPublishes()
			sk.send(pongFrame)
		}
	}
}

// heartbeat writes a heartbeat frame every d until stop is closed.
func (sk *socket) heartbeat(d time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			sk.send(heartbeatFrame)
		}
	}
}

// send writes frame as a text message unless the socket is closing or
// stalled, and reports whether it was written.
func (sk *socket) send(frame []byte) bool {
	sk.wmu.Lock()
	defer sk.wmu.Unlock()
	if sk.closing.Load() || sk.stalled.Load() {
		return false
	}
	return sk.writeLocked(frame)
}

func (sk *socket) writeLocked(frame []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if sk.conn.Write(ctx, websocket.MessageText, frame) != nil {
		return false
	}
	sk.written.Add(1)
	return true
}

// allowPong is the OnPingReceived callback of every socket. It waits for
// the Publish frames reserved for the socket and for the frame being
// written, if any, so that the pong, which the WebSocket library writes
// after it returns, follows every frame that was written or due before the
// ping was read. A stalled socket does not answer pings.
func (sk *socket) allowPong(context.Context, []byte) bool {
	sk.awaitPublishes()
	sk.wmu.Lock()
	defer sk.wmu.Unlock()
	return !sk.stalled.Load()
}

// stall makes the socket silent. When it returns, no write is in progress.
func (sk *socket) stall() {
	sk.wmu.Lock()
	sk.stalled.Store(true)
	sk.wmu.Unlock()
}

// detach removes sk from its channel, if it is still the channel's socket,
// or a token-frame socket from the authenticated connections.
func (s *Server) detach(sk *socket) {
	s.mu.Lock()
	if sk.tf != nil {
		if s.tfConns[sk.id] == sk {
			delete(s.tfConns, sk.id)
		}
	} else if ch := s.channels[sk.id]; ch != nil && ch.sock == sk {
		ch.sock = nil
	}
	s.mu.Unlock()
}

// retire writes last (if not nil) and closes the socket with code and
// reason. The close handshake completes in the background, so the caller
// does not wait for the client to read. A stalled socket gets nothing and
// is closed abruptly. retire does nothing if the socket is already closing.
func (s *Server) retire(sk *socket, last []byte, code websocket.StatusCode, reason string) {
	s.detach(sk)
	sk.wmu.Lock()
	if !sk.closing.CompareAndSwap(false, true) {
		sk.wmu.Unlock()
		return
	}
	stalled := sk.stalled.Load()
	if last != nil && !stalled {
		sk.writeLocked(last)
	}
	sk.wmu.Unlock()

	if stalled || !s.spawn(func() { sk.conn.Close(code, reason) }) {
		sk.kill()
	}
}

// noLongerSubscribed retires the sockets of removed channels.
func (s *Server) noLongerSubscribed(socks []*socket) {
	for _, sk := range socks {
		s.retire(sk, noLongerSubscribedFrame(s.origin(sk.id)), websocket.StatusNormalClosure, "no longer subscribed")
	}
}

// kill closes the socket abruptly, without a close frame, aborting a close
// handshake in progress.
func (sk *socket) kill() {
	sk.closing.Store(true)
	sk.s.detach(sk)
	if sk.raw != nil {
		sk.raw.Close()
	}
	sk.conn.CloseNow()
}

// hijackRecorder records the connection that websocket.Accept hijacks.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, brw, err
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter {
	return h.ResponseWriter
}
