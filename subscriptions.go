package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of the topic set. Genesys allows 1,000 topics per channel and 20
// channels per user or OAuth client; one channel is kept free so that a
// handover can always open a new one. WithMaxChannels lowers them.
const (
	TopicsPerChannel = 1000
	MaxChannels      = 19
	MaxTopics        = MaxChannels * TopicsPerChannel
)

// maxTopicLen bounds a topic name; Genesys ids are far shorter.
const maxTopicLen = 1024

// maxOwners is how many channels the set may spread over: all but the
// spare one, which carries handovers.
func (c *Client) maxOwners() int { return max(c.cfg.maxChannels-1, 1) }

// weight is how many topics t counts as toward the limits: the combined
// form "v2.users.{id}?presence&routingStatus" names one per suffix.
func weight(t string) int {
	_, combined, ok := strings.Cut(t, "?")
	if !ok {
		return 1
	}
	return 1 + strings.Count(combined, "&")
}

// checkTopic checks t against the grammar of the client's protocol.
func (c *Client) checkTopic(t string) error {
	bad := func(rule string) error { return fmt.Errorf("%w: %q: %s", ErrInvalidTopic, t, rule) }
	if t == "" || len(t) > maxTopicLen || !utf8.ValidString(t) {
		return bad(fmt.Sprintf("a topic is 1 to %d bytes of UTF-8", maxTopicLen))
	}
	if strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return bad("a topic has no spaces or control characters")
	}
	if c.cfg.tokenFrameURL != "" {
		if !strings.HasPrefix(t, "/") || slices.Contains(strings.Split(t[1:], "/"), "") || strings.ContainsAny(t, "?&") {
			return bad(`token-frame topics are paths of non-empty segments, such as "/users/{id}/presence"`)
		}
		return nil
	}
	name, combined, isCombined := strings.Cut(t, "?")
	if !strings.HasPrefix(name, "v2.") || slices.Contains(strings.Split(name, "."), "") || strings.Contains(name, "&") {
		return bad(`Genesys topics are "v2." and non-empty dot-separated segments, such as "v2.users.{id}.presence"`)
	}
	if isCombined && (slices.Contains(strings.Split(combined, "&"), "") || strings.ContainsAny(combined, ".?")) {
		return bad(`a combined topic ends in "?" and non-empty names joined by "&", such as "?presence&routingStatus"`)
	}
	return nil
}

// Topics returns the desired topic set, sorted. While connected it equals
// the union of the sets subscribed on the server. A combined topic
// ("v2.users.{id}?presence&routingStatus") is returned as given, although
// the server holds its expansion.
func (c *Client) Topics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.where))
}

// Subscribe adds topics to the set. While connected it returns once the
// server holds them: nil, or an error matching ErrRejected naming the
// topics it refused, which leave the set and are reported as Rejected
// events. While disconnected the set changes at once and is subscribed on
// the next connection (as it is if the connection is lost before the
// server answers); refused topics are then reported as Rejected events.
//
// Changes made while a subscription request is under way ride the next
// one, so many concurrent calls make few requests. A 429, a 5xx or a
// network error is retried on the same connection. If ctx ends first,
// Subscribe returns its error and the topics leave the set again; a
// context that has already ended changes nothing. Invalid topics are
// refused with ErrInvalidTopic and a set that would exceed MaxTopics with
// ErrTooManyTopics, before anything changes.
func (c *Client) Subscribe(ctx context.Context, topics ...string) error {
	return c.change(ctx, topics, nil)
}

// Unsubscribe removes topics from the set, with the semantics of
// Subscribe: while connected it returns once the server no longer holds
// them. When the set fits in fewer channels, topics move off the last
// channel (subscribed on their new channel before they leave the old one,
// so without a gap) and it is closed.
func (c *Client) Unsubscribe(ctx context.Context, topics ...string) error {
	return c.change(ctx, nil, topics)
}

func (c *Client) change(ctx context.Context, add, remove []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, t := range slices.Concat(add, remove) {
		if err := c.checkTopic(t); err != nil {
			return err
		}
	}
	if err := c.checkCatalog(ctx, add); err != nil { // WithTopicCatalog (catalog.go)
		return err
	}
	reqs, err := c.route(add, remove)
	if err != nil {
		return err
	}
	var errs []error
	for o, r := range reqs {
		select {
		case err = <-r.done:
		case <-ctx.Done():
			o.inbox.put(&request{withdraw: r, cause: ctx.Err()})
			err = <-r.done
		}
		errs = append(errs, err)
	}
	if len(remove) > 0 {
		c.shrink()
	}
	return errors.Join(errs...)
}

// route spreads a change over the owners: removals where the topics are,
// additions into the first owners with room, and new owners as needed.
// While Run runs, it queues a request per owner, in order, and returns
// them; before, it changes the owners' sets itself.
func (c *Client) route(add, remove []string) (map[*owner]*request, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	total := 0
	for _, o := range c.owners {
		total += o.count
	}
	seen := map[string]bool{}
	var adds []string
	grow := 0
	for _, t := range add {
		if !seen[t] && c.where[t] == nil {
			seen[t] = true
			adds = append(adds, t)
			grow += weight(t)
		}
	}
	remove = slices.Compact(slices.Sorted(slices.Values(remove)))
	for _, t := range remove {
		if c.where[t] != nil {
			total -= weight(t)
		}
	}
	if limit := c.maxOwners() * TopicsPerChannel; total+grow > limit {
		return nil, fmt.Errorf("%w: %d + %d exceeds %d", ErrTooManyTopics, total, grow, limit)
	}
	// Where each new topic goes, before anything changes.
	room := make([]int, len(c.owners), c.maxOwners())
	for i, o := range c.owners {
		if !o.retiring {
			room[i] = TopicsPerChannel - o.count
		}
	}
	for _, t := range remove {
		if o := c.where[t]; o != nil && !o.retiring {
			room[slices.Index(c.owners, o)] += weight(t)
		}
	}
	dest := make([]int, len(adds))
	for j, t := range adds {
		i := slices.IndexFunc(room, func(r int) bool { return r >= weight(t) })
		if i < 0 {
			if len(room) == c.maxOwners() {
				return nil, fmt.Errorf("%w: no channel has room for %q", ErrTooManyTopics, t)
			}
			room = append(room, TopicsPerChannel)
			i = len(room) - 1
		}
		room[i] -= weight(t)
		dest[j] = i
	}

	reqs := map[*owner]*request{}
	reqOf := func(o *owner) *request {
		if reqs[o] == nil {
			reqs[o] = &request{done: make(chan error, 1)}
		}
		return reqs[o]
	}
	for _, t := range remove {
		if o := c.where[t]; o != nil {
			delete(c.where, t)
			o.count -= weight(t)
			reqOf(o).remove = append(reqOf(o).remove, t)
		}
	}
	for len(c.owners) < len(room) {
		o := c.newOwner()
		c.owners = append(c.owners, o)
	}
	for j, t := range adds {
		o := c.owners[dest[j]]
		c.where[t] = o
		o.count += weight(t)
		reqOf(o).add = append(reqOf(o).add, t)
	}
	// An owner not started yet takes the change into its set at once; it
	// subscribes the set when it connects.
	for o, r := range reqs {
		if o.stop != nil {
			if !o.inbox.put(r) {
				r.done <- ErrClosed
			}
			continue
		}
		for _, t := range r.add {
			o.want[t] = struct{}{}
		}
		for _, t := range r.remove {
			delete(o.want, t)
		}
		delete(reqs, o)
	}
	for _, o := range c.owners {
		c.start(o)
	}
	return reqs, nil
}

// unroute forgets that topics are o's: they left its set.
func (c *Client) unroute(o *owner, topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range topics {
		if c.where[t] == o {
			delete(c.where, t)
			o.count -= weight(t)
		}
	}
}

// reroute records that topics are o's again: a withdrawn removal.
func (c *Client) reroute(o *owner, topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range topics {
		if c.where[t] == nil {
			c.where[t] = o
			o.count += weight(t)
		}
	}
}

// shrink empties the last owner into the others while the set fits in
// fewer channels, and stops it. Topics are subscribed on their new
// channel before they leave the old one; copies of an event that both
// deliver meanwhile are dropped.
func (c *Client) shrink() {
	c.reshard.Lock()
	defer c.reshard.Unlock()
	for {
		last, moves, leave := c.planShrink()
		if last == nil {
			return
		}
		overlap := c.holdDedup()
		for _, r := range moves {
			<-r.done
		}
		// Then its socket is read to its end: what it got before the
		// removal is delivered (once) before it closes.
		retire := &request{retire: true, done: make(chan error, 1)}
		if last.inbox.put(leave) && last.inbox.put(retire) {
			<-leave.done
			<-retire.done
		}
		c.releaseDedup(overlap)
		c.mu.Lock()
		c.owners = slices.DeleteFunc(c.owners, func(o *owner) bool { return o == last })
		stop := last.stop
		c.mu.Unlock()
		if stop != nil {
			stop()
			<-last.exited
		}
	}
}

// planShrink routes the last owner's topics to the others if they have
// room, and returns the last owner, the requests that add them elsewhere
// (queued) and the one that removes them from it (not yet queued).
func (c *Client) planShrink() (*owner, []*request, *request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, o := range c.owners {
		total += o.count
	}
	n := len(c.owners)
	if c.run == nil || n <= max(1, (total+TopicsPerChannel-1)/TopicsPerChannel) {
		return nil, nil, nil
	}
	last := c.owners[n-1]
	var moving []string
	for t, o := range c.where {
		if o == last {
			moving = append(moving, t)
		}
	}
	slices.Sort(moving)
	room := make([]int, n-1)
	for i, o := range c.owners[:n-1] {
		room[i] = TopicsPerChannel - o.count
	}
	dest := make([]int, len(moving))
	for j, t := range moving {
		i := slices.IndexFunc(room, func(r int) bool { return r >= weight(t) })
		if i < 0 {
			return nil, nil, nil // fragmented: the last channel stays
		}
		room[i] -= weight(t)
		dest[j] = i
	}
	last.retiring = true
	reqs := map[*owner]*request{}
	for j, t := range moving {
		o := c.owners[dest[j]]
		c.where[t] = o
		o.count += weight(t)
		last.count -= weight(t)
		if reqs[o] == nil {
			reqs[o] = &request{done: make(chan error, 1)}
		}
		reqs[o].add = append(reqs[o].add, t)
	}
	var moves []*request
	for o, r := range reqs {
		if !o.inbox.put(r) {
			r.done <- ErrClosed
		}
		moves = append(moves, r)
	}
	return last, moves, &request{remove: moving, done: make(chan error, 1)}
}
