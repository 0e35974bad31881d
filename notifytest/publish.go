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
func (s *Server) Publish(topic string, body any) (correlationID string, delivered int) {
	correlationID = newUUID()
	var n atomic.Int64
	data := encodeBody(body)
	frame := eventFrame(topic, data, correlationID)
	tfEvent := tfEventFrame(topic, data)
	send := func(sk *socket) {
		f := frame
		if sk.tf != nil {
			f = tfEvent
		}
		if sk.send(f) {
			n.Add(1)
		}
	}

	targets := s.subscribers(topic)
	if len(targets) == 1 {
		send(targets[0])
	} else {
		var wg sync.WaitGroup
		for _, sk := range targets {
			wg.Go(func() { send(sk) })
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
// after waiting (up to writeTimeout) for pending upgrades on those channels,
// and the authenticated token-frame sockets subscribed to topic.
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
		for _, sk := range s.tfConns {
			if _, ok := sk.tf.topics[topic]; ok {
				targets = append(targets, sk)
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
