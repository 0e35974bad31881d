package notify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// maxTopicLen bounds a topic name; Genesys ids are far shorter.
const maxTopicLen = 1024

// topicSet is the desired subscription set and the connection it is
// applied on. Changing the set and applying it to the server happen under
// one semaphore, so the replay after a reconnect and a concurrent
// Subscribe can never leave the server with a stale set.
type topicSet struct {
	sem chan struct{} // held while the set changes or is sent to the server

	mu     sync.Mutex // guards topics for readers that must not wait on I/O
	topics map[string]struct{}

	// live is the connection the set is applied on, nil while
	// disconnected. Only the supervisor stores it.
	live atomic.Pointer[liveLink]
}

func newTopicSet() *topicSet {
	return &topicSet{sem: make(chan struct{}, 1), topics: map[string]struct{}{}}
}

// lock acquires the semaphore unless ctx ends first.
func (s *topicSet) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *topicSet) unlock() { <-s.sem }

// sorted returns the set in order.
func (s *topicSet) sorted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.topics))
	for t := range s.topics {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// change adds and removes topics, returning what it actually changed.
// The caller holds the semaphore.
func (s *topicSet) change(add, remove []string) (added, removed []string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range add {
		if _, ok := s.topics[t]; !ok && !slices.Contains(added, t) {
			added = append(added, t)
		}
	}
	if len(s.topics)+len(added) > MaxTopics {
		return nil, nil, fmt.Errorf("%w: %d + %d exceeds %d", ErrTooManyTopics, len(s.topics), len(added), MaxTopics)
	}
	for _, t := range remove {
		if _, ok := s.topics[t]; ok && !slices.Contains(removed, t) {
			removed = append(removed, t)
		}
	}
	for _, t := range added {
		s.topics[t] = struct{}{}
	}
	for _, t := range removed {
		delete(s.topics, t)
	}
	return added, removed, nil
}

// drop removes topics the server rejected and returns an error naming
// them, or nil. The caller holds the semaphore.
func (s *topicSet) drop(rejected []Rejected) error {
	if len(rejected) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make([]error, len(rejected))
	for i, r := range rejected {
		delete(s.topics, r.Topic)
		errs[i] = fmt.Errorf("%w: %s: %s", ErrRejected, r.Topic, r.Reason)
	}
	return errors.Join(errs...)
}

func checkTopics(topics []string) error {
	for _, t := range topics {
		if t == "" || len(t) > maxTopicLen || !utf8.ValidString(t) {
			return fmt.Errorf("%w: %q", ErrInvalidTopic, t)
		}
		for _, r := range t {
			if r <= ' ' || r == 0x7f {
				return fmt.Errorf("%w: %q", ErrInvalidTopic, t)
			}
		}
	}
	return nil
}

// Subscribe adds topics to the set. While connected they are subscribed at
// once and Subscribe returns the server's verdict: an error matching
// ErrRejected names the topics it refused, which are removed from the set
// and reported as Rejected events. While disconnected the set changes and
// is subscribed on the next connection. If the server's answer is
// unclear (a network error, a 5xx), the topics stay in the set and the
// client reconnects, which subscribes the whole set again. An error that
// the server refused the change (a 4xx) leaves the set as it was.
func (c *Client) Subscribe(ctx context.Context, topics ...string) error {
	return c.changeTopics(ctx, topics, nil)
}

// Unsubscribe removes topics from the set, at once on the server while
// connected. Errors are as for Subscribe.
func (c *Client) Unsubscribe(ctx context.Context, topics ...string) error {
	return c.changeTopics(ctx, nil, topics)
}

func (c *Client) changeTopics(ctx context.Context, add, remove []string) error {
	if err := checkTopics(slices.Concat(add, remove)); err != nil {
		return err
	}
	if c.closeCtx.Err() != nil {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.closeCtx, cancel)()

	if err := c.set.lock(ctx); err != nil {
		return err
	}
	defer c.set.unlock()
	added, removed, err := c.set.change(add, remove)
	if err != nil || len(added)+len(removed) == 0 {
		return err
	}
	l := c.set.live.Load()
	if l == nil {
		return nil
	}
	rejected, err := l.update(ctx, c.set.sorted(), added, removed)
	switch {
	case err == nil:
		return c.reject(rejected)
	case refused(err):
		c.set.change(removed, added) // undo: the server kept its set
		return err
	default:
		l.fail(fmt.Errorf("notify: subscription change unconfirmed, resubscribing on a new connection: %w", err))
		return nil
	}
}
