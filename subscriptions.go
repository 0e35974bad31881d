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

// Limits of the topic set. Genesys allows 1,000 topics per channel and 20
// channels per user or OAuth client; one channel is kept free so that a
// handover can always open a new one.
const (
	TopicsPerChannel = 1000
	MaxChannels      = 19
	MaxTopics        = MaxChannels * TopicsPerChannel
)

// maxTopicLen bounds a topic name; Genesys ids are far shorter.
const maxTopicLen = 1024

// shard is one channel's worth of topics, with its own transport,
// connection and supervisor.
type shard struct {
	tr   transport
	set  *topicSet
	stop context.CancelFunc // ends its supervisor; nil until started
}

// topicSet is a shard's subscription set and the connection it is applied
// on. Changing the set and applying it to the server happen under one
// semaphore, so the replay after a reconnect and a concurrent Subscribe can
// never leave the server with a stale set.
type topicSet struct {
	sem chan struct{} // held while the set changes or is sent to the server

	mu     sync.Mutex // guards topics for readers that must not wait on I/O
	topics map[string]struct{}

	// live is the connection the set is applied on, nil while
	// disconnected. Only the shard's supervisor stores it.
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

func (s *topicSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.topics)
}

func (s *topicSet) has(t string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.topics[t]
	return ok
}

// change adds and removes topics, returning what it actually changed.
// The caller holds the semaphore.
func (s *topicSet) change(add, remove []string) (added, removed []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range add {
		if _, ok := s.topics[t]; !ok {
			s.topics[t] = struct{}{}
			added = append(added, t)
		}
	}
	for _, t := range remove {
		if _, ok := s.topics[t]; ok {
			delete(s.topics, t)
			removed = append(removed, t)
		}
	}
	return added, removed
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

// Topics returns the desired topic set, sorted. While connected it equals
// the union of the sets subscribed on the server.
func (c *Client) Topics() []string {
	var all []string
	for _, sh := range c.shardList() {
		all = append(all, sh.set.sorted()...)
	}
	slices.Sort(all)
	return slices.Compact(all) // a topic moving between shards is in both for a moment
}

func (c *Client) shardList() []*shard {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.shards)
}

// Subscribe adds topics to the set. While connected they are subscribed at
// once and Subscribe returns the server's verdict: an error matching
// ErrRejected names the topics it refused, which are removed from the set
// and reported as Rejected events. While disconnected the set changes and
// is subscribed on the next connection. If the server's answer is unclear
// (a network error, a 5xx), the topics stay in the set and the client
// reconnects, which subscribes the whole set again. An error that the
// server refused the change (a 4xx) leaves the set as it was. A set that
// would exceed MaxTopics is refused with ErrTooManyTopics and not changed.
func (c *Client) Subscribe(ctx context.Context, topics ...string) error {
	return c.changeTopics(ctx, topics, nil)
}

// Unsubscribe removes topics from the set, at once on the server while
// connected. When the set fits in fewer channels, topics move off the last
// channel (subscribed on their new channel before they leave the old one,
// so without a gap) and it is closed. Errors are as for Subscribe.
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
	select {
	case c.assign <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.assign }()

	steps, err := c.plan(add, remove)
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range steps {
		errs = append(errs, c.apply(ctx, st.sh, st.add, st.remove))
	}
	// New shards connect once their topics are in place: one PUT each.
	c.mu.Lock()
	for _, sh := range c.shards {
		c.start(sh)
	}
	c.mu.Unlock()
	if len(remove) > 0 {
		errs = append(errs, c.shrink(ctx))
	}
	return errors.Join(errs...)
}

// step is the part of a change that falls on one shard.
type step struct {
	sh          *shard
	add, remove []string
}

// plan spreads a change over the shards: removals where the topics are,
// additions into the first shards with room, and new shards as needed,
// which the caller starts once their topics are in place. The caller holds
// c.assign, so no other change runs meanwhile.
func (c *Client) plan(add, remove []string) ([]*step, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	bySh := map[*shard]*step{}
	stepOf := func(sh *shard) *step {
		if bySh[sh] == nil {
			bySh[sh] = &step{sh: sh}
		}
		return bySh[sh]
	}
	owner := func(t string) *shard {
		for _, sh := range c.shards {
			if sh.set.has(t) {
				return sh
			}
		}
		return nil
	}
	total := 0
	for _, sh := range c.shards {
		total += sh.set.len()
	}
	seen := map[string]bool{}
	for _, t := range remove {
		if sh := owner(t); sh != nil && !seen[t] {
			seen[t] = true
			stepOf(sh).remove = append(stepOf(sh).remove, t)
			total--
		}
	}
	var added []string
	for _, t := range add {
		if owner(t) == nil && !seen[t] {
			seen[t] = true
			added = append(added, t)
		}
	}
	if total+len(added) > MaxTopics {
		return nil, fmt.Errorf("%w: %d + %d exceeds %d", ErrTooManyTopics, total, len(added), MaxTopics)
	}
	for i := 0; len(added) > 0; i++ {
		if i == len(c.shards) {
			c.shards = append(c.shards, c.newShard())
		}
		st := stepOf(c.shards[i])
		room := TopicsPerChannel - (st.sh.set.len() - len(st.remove) + len(st.add))
		n := min(max(room, 0), len(added))
		st.add = append(st.add, added[:n]...)
		added = added[n:]
	}
	steps := make([]*step, 0, len(bySh))
	for _, sh := range c.shards {
		if st := bySh[sh]; st != nil {
			steps = append(steps, st)
		}
	}
	return steps, nil
}

// apply changes one shard's set, at once on the server if it is connected.
func (c *Client) apply(ctx context.Context, sh *shard, add, remove []string) error {
	if err := sh.set.lock(ctx); err != nil {
		return err
	}
	defer sh.set.unlock()
	added, removed := sh.set.change(add, remove)
	if len(added)+len(removed) == 0 {
		return nil
	}
	l := sh.set.live.Load()
	if l == nil {
		return nil
	}
	rejected, err := l.update(ctx, sh.set.sorted(), added, removed)
	switch {
	case err == nil:
		return c.reject(sh, rejected)
	case refused(err):
		sh.set.change(removed, added) // undo: the server kept its set
		return err
	default:
		l.fail(fmt.Errorf("notify: subscription change unconfirmed, resubscribing on a new connection: %w", err))
		return nil
	}
}

// shrink empties the last shard into the others while the set fits in
// fewer channels, and closes it. Topics are subscribed on their new
// channel before they leave the old one; copies of an event that both
// deliver meanwhile are dropped.
func (c *Client) shrink(ctx context.Context) error {
	for {
		shards := c.shardList()
		total := 0
		for _, sh := range shards {
			total += sh.set.len()
		}
		need := max(1, (total+TopicsPerChannel-1)/TopicsPerChannel)
		if len(shards) <= need {
			return nil
		}
		last := shards[len(shards)-1]
		if err := c.empty(ctx, last, shards[:len(shards)-1]); err != nil {
			return err
		}
		c.mu.Lock()
		c.shards = slices.DeleteFunc(c.shards, func(sh *shard) bool { return sh == last })
		stop := last.stop
		c.mu.Unlock()
		if stop != nil {
			stop()
		}
	}
}

// empty moves every topic of from into the room left in others.
func (c *Client) empty(ctx context.Context, from *shard, others []*shard) error {
	overlap := c.holdDedup()
	defer c.releaseDedup(overlap)
	moving := from.set.sorted()
	var errs []error
	for _, sh := range others {
		n := min(max(TopicsPerChannel-sh.set.len(), 0), len(moving))
		if n == 0 {
			continue
		}
		if err := c.apply(ctx, sh, moving[:n], nil); err != nil && !errors.Is(err, ErrRejected) {
			return err
		} else if err != nil {
			errs = append(errs, err)
		}
		moving = moving[n:]
	}
	if len(moving) > 0 {
		return fmt.Errorf("notify: %d topics found no room while closing a channel", len(moving))
	}
	errs = append(errs, c.apply(ctx, from, nil, from.set.sorted()))
	return errors.Join(errs...)
}
