package notifytest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Publish sends a notification on topic to every open, non-stalled socket
// whose channel is subscribed to topic (exact match), and to every open,
// authenticated, non-stalled token-frame socket subscribed to topic. It
// returns the CorrelationId, shared by all the copies of the channel
// sockets (token-frame notifications carry none), and the number of
// sockets, of both kinds, that got the frame.
//
// A channel socket gets
//
//	{"topicName":topic,"version":"2","eventBody":body,"metadata":{"CorrelationId":correlationID}}
//
// and a token-frame socket gets
//
//	{"event":topic,"data":body}
//
// body is encoded with encoding/json, except that a json.RawMessage or a
// []byte is embedded verbatim and must then be valid JSON (empty means
// null). Publish panics if body cannot be encoded.
//
// The frames are written before Publish returns, each within a 5s write
// timeout, so a client that stops reading cannot block it forever. If a
// socket upgrade is in progress on a subscribed channel, Publish first waits
// (up to 5s) for the socket to be registered. Publish is safe for
// concurrent use; the frames of successive calls from one goroutine arrive
// in call order.
//
// A socket answers a ping (a WebSocket ping, or {"message":"ping"} on a
// channel socket) only after the frames of every Publish call that chose it
// before the ping was read: a client that got the pong has got every
// notification published to the socket before it sent the ping.
func (s *Server) Publish(topic string, body any) (correlationID string, delivered int) {
	correlationID = newUUID()
	var n atomic.Int64
	data := encodeBody(body)
	frame := eventFrame(topic, data, correlationID)
	tfEvent := tfEventFrame(topic, data)
	send := func(t target) {
		f := frame
		if t.sk.tf != nil {
			f = tfEvent
		}
		if t.sk.send(f) {
			n.Add(1)
		}
		s.release(t.batch)
	}

	targets := s.subscribers(topic)
	s.mu.Lock()
	hook := s.hookReserved
	s.mu.Unlock()
	if hook != nil {
		hook(topic)
	}
	if len(targets) == 1 {
		send(targets[0])
	} else {
		var wg sync.WaitGroup
		for _, t := range targets {
			wg.Go(func() { send(t) })
		}
		wg.Wait()
	}

	delivered = int(n.Load())
	s.mu.Lock()
	s.stats.Published += delivered
	s.mu.Unlock()
	return correlationID, delivered
}

// target is a socket chosen by Publish, and the batch in which its frame
// is reserved.
type target struct {
	sk    *socket
	batch *batch
}

// batch counts the Publish frames reserved for a socket, between two pings
// that it read, that are not written (or failed) yet.
type batch struct {
	pending int           // guarded by Server.mu
	sealed  bool          // a ping is waiting for done; guarded by Server.mu
	done    chan struct{} // closed when pending is zero and sealed is set
}

// reserveLocked reserves a frame for sk in its current batch.
func (sk *socket) reserveLocked() *batch {
	if sk.batch == nil {
		sk.batch = &batch{done: make(chan struct{})}
	}
	sk.batch.pending++
	return sk.batch
}

// release ends a frame reservation made by reserveLocked.
func (s *Server) release(b *batch) {
	s.mu.Lock()
	b.pending--
	if b.pending == 0 && b.sealed {
		close(b.done)
	}
	s.mu.Unlock()
}

// awaitPublishes waits until the frames reserved for sk so far are written
// or failed, so that the answer to a ping that was just read follows them.
// Frames reserved later are not waited for, so a stream of Publish calls
// cannot hold a pong back.
func (sk *socket) awaitPublishes() {
	s := sk.s
	s.mu.Lock()
	b := sk.batch
	sk.batch = nil
	if b == nil || b.pending == 0 {
		s.mu.Unlock()
		return
	}
	b.sealed = true
	hook := s.hookPongWait
	s.mu.Unlock()
	if hook != nil {
		hook(sk.id)
	}
	<-b.done
}

// subscribers returns the sockets of the channels subscribed to topic,
// after waiting (up to writeTimeout) for pending upgrades on those channels,
// and the authenticated token-frame sockets subscribed to topic, each with
// a frame reserved (see awaitPublishes) that the caller must release.
func (s *Server) subscribers(topic string) []target {
	var ctx context.Context
	for {
		var targets []*socket
		var wait []string
		s.mu.Lock()
		dead := s.expireLocked(time.Now())
		for _, ch := range s.channels {
			if _, ok := ch.topics[topic]; !ok {
				continue
			}
			if ch.upgrading > 0 {
				wait = append(wait, ch.id)
			}
			if ch.sock != nil {
				targets = append(targets, ch.sock)
			}
		}
		for _, sk := range s.tfConns {
			if _, ok := sk.tf.topics[topic]; ok {
				targets = append(targets, sk)
			}
		}
		var reserved []target
		final := len(wait) == 0 || (ctx != nil && ctx.Err() != nil)
		if final {
			reserved = make([]target, len(targets))
			for i, sk := range targets {
				reserved[i] = target{sk: sk, batch: sk.reserveLocked()}
			}
		}
		s.mu.Unlock()
		s.noLongerSubscribed(dead)

		if final {
			return reserved
		}
		if ctx == nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.Background(), writeTimeout)
			defer cancel()
		}
		for _, id := range wait {
			if err := s.awaitUpgrades(ctx, id); err == errServerClosed {
				return nil
			} else if err != nil {
				break // timed out: take what is registered now
			}
		}
	}
}
