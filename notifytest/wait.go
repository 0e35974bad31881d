package notifytest

import (
	"context"
	"time"
)

// WaitSubscribed blocks until every topic is subscribed by some open
// socket, each topic by any one: a channel socket whose channel's
// subscriptions hold the topic, or an authenticated token-frame socket
// that subscribed to it. A combined topic ("v2.users.{id}?presence&routingStatus")
// stands for the topics it expands to. When WaitSubscribed returns nil, a
// Publish on any of the topics reaches a socket (unless it closes or is
// stalled meanwhile: a stalled socket still counts as subscribed).
//
// It returns ctx.Err() if ctx ends first, or an error if the server is
// closed. With no topics it returns nil at once.
func (s *Server) WaitSubscribed(ctx context.Context, topics ...string) error {
	var want []string
	for _, t := range topics {
		expanded, ok := expandTopic(t)
		if !ok {
			expanded = []string{t}
		}
		want = append(want, expanded...)
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errServerClosed
		}
		missing := false
		now := time.Now()
		for _, t := range want {
			if !s.isSubscribedLocked(t, now) {
				missing = true
				break
			}
		}
		wait := s.subbed
		s.mu.Unlock()
		if !missing {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errServerClosed
		}
	}
}

// isSubscribedLocked reports whether an open socket is subscribed to topic.
func (s *Server) isSubscribedLocked(topic string, now time.Time) bool {
	for _, ch := range s.channels {
		if _, ok := ch.topics[topic]; ok && ch.sock != nil && now.Before(ch.expires) {
			return true
		}
	}
	for _, sk := range s.tfConns {
		if _, ok := sk.tf.topics[topic]; ok {
			return true
		}
	}
	return false
}

// signalSubscribedLocked wakes WaitSubscribed: a socket was registered or
// a subscription added.
func (s *Server) signalSubscribedLocked() {
	close(s.subbed)
	s.subbed = make(chan struct{})
}
