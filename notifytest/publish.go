package notifytest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Publish sends a notification on topic to every open, non-stalled socket
// whose channel is subscribed to topic (exact match), and returns its
// CorrelationId, shared by all the copies, and the number of sockets that
// got the frame.
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
func (s *Server) Publish(topic string, body any) (correlationID string, delivered int) {
	correlationID = newUUID()
	frame := eventFrame(topic, encodeBody(body), correlationID)

	targets := s.subscribers(topic)
	var n atomic.Int64
	if len(targets) == 1 {
		if targets[0].send(frame) {
			n.Add(1)
		}
	} else {
		var wg sync.WaitGroup
		for _, sk := range targets {
			wg.Go(func() {
				if sk.send(frame) {
					n.Add(1)
				}
			})
		}
		wg.Wait()
	}

	delivered = int(n.Load())
	s.mu.Lock()
	s.stats.Published += delivered
	s.mu.Unlock()
	return correlationID, delivered
}

// subscribers returns the sockets of the channels subscribed to topic,
// after waiting (up to writeTimeout) for pending upgrades on those channels.
func (s *Server) subscribers(topic string) []*socket {
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
		s.mu.Unlock()
		s.noLongerSubscribed(dead)

		if len(wait) == 0 || (ctx != nil && ctx.Err() != nil) {
			return targets
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
