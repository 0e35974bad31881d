package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gcnotify/notify/internal/genesys"
)

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
// Subscribe returns its error at once and the topics leave the set again;
// a context that has already ended changes nothing. Invalid topics are
// refused with ErrInvalidTopic and a set that would exceed MaxTopics with
// ErrTooManyTopics, before anything changes.
func (c *Client) Subscribe(ctx context.Context, topics ...string) error {
	return c.change(ctx, topics, nil)
}

// Unsubscribe removes topics from the set, with the semantics of
// Subscribe: while connected it returns once the server no longer holds
// them. When the set then fits in fewer channels, the client moves topics
// off the last channel in the background (subscribed on their new channel
// before they leave the old one, so without a gap) and closes it.
func (c *Client) Unsubscribe(ctx context.Context, topics ...string) error {
	return c.change(ctx, nil, topics)
}

func (c *Client) change(ctx context.Context, add, remove []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, t := range slices.Concat(add, remove) {
		if err := c.grammar.Check(t); err != nil {
			return err
		}
	}
	if err := c.checkCatalog(ctx, add); err != nil {
		return err
	}
	reqs, err := c.route(add, remove)
	if err != nil {
		return err
	}
	if len(remove) > 0 {
		defer c.kickReshard()
	}
	var errs []error
	for _, r := range reqs {
		select {
		case err = <-r.done:
			errs = append(errs, err)
		case <-ctx.Done():
			c.withdraw(reqs)
			return ctx.Err()
		}
		if errors.Is(err, ErrClosed) { // the client closed under the call
			c.withdraw(reqs)
			return ErrClosed
		}
	}
	return errors.Join(errs...)
}

// request is what an owner's inbox carries: a change of its set from
// Subscribe or Unsubscribe, the withdrawal of one whose caller gave up,
// and, from the resharder, the retirement of its connection, topics moving
// in from a retiring channel and the settling of that move.
type request struct {
	kind        requestKind
	add, remove []string   // for a change: topics routed to or away from the owner
	done        chan error // the verdict, given once
	claim       atomic.Int32
	withdrawn   *request // for a withdrawal: the change withdrawn
	drained     bool     // for a settle: the retiring channel was read to its end

	// run's: what the change did to the set.
	added, removed []string
}

type requestKind int

const (
	requestChange   requestKind = iota
	requestWithdraw             // undo a change whose caller gave up
	requestRetire               // read the connection to its end, then answer
	requestMove                 // a change adding topics from a retiring channel: hold their events
	requestSettle               // release the events held: the retiring channel is read to its end
)

// Claims of a request: the verdict is given, or the caller withdrew it.
const (
	open int32 = iota
	answered
	withdrawn
)

func newRequest(kind requestKind) *request {
	return &request{kind: kind, done: make(chan error, 1)}
}

// answer gives the verdict, unless it was given or the caller withdrew.
func (r *request) answer(err error) {
	if r.claim.CompareAndSwap(open, answered) {
		r.done <- err
	}
}

// withdraw undoes a call whose caller gave up, every part of it, even
// those whose verdict came: its topics leave the placement now, in the
// order of other changes, and each owner takes them out of its set, and
// off the server, when it reads the withdrawal.
func (c *Client) withdraw(reqs map[*owner]*request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var homeless []string // removals to undo whose owner was retired since
	for o, r := range reqs {
		r.claim.CompareAndSwap(open, withdrawn)
		c.unrouteMoved(o, r.add)
		c.unrouteLocked(o, r.add)
		if o != c.retiring && slices.Contains(c.owners, o) {
			c.rerouteLocked(o, r.remove)
		} else {
			homeless = append(homeless, r.remove...)
		}
		w := newRequest(requestWithdraw)
		w.withdrawn = r
		o.inbox.put(w)
	}
	if len(homeless) > 0 && !c.closed {
		if _, err := c.routeLocked(homeless, nil); err != nil {
			c.log.Warn("notify: topics of a withdrawn Unsubscribe could not be placed again", "topics", len(homeless), "err", err)
		}
	}
}

// unrouteMoved takes off the topics of added that a reshard moved from o
// to another owner since: that owner gets a request to remove them. The
// caller holds c.mu.
func (c *Client) unrouteMoved(o *owner, added []string) {
	moved := map[*owner][]string{}
	for _, t := range added {
		if to := c.where[t]; to != nil && to != o {
			c.unrouteLocked(to, []string{t})
			moved[to] = append(moved[to], t)
		}
	}
	for to, topics := range moved {
		r := newRequest(requestChange)
		r.remove = topics
		to.inbox.put(r)
	}
}

// inbox queues requests for an owner in the order they were routed.
type inbox struct {
	mu     sync.Mutex
	items  []*request
	closed bool
	wake   chan struct{}
}

// put queues r, or reports false if the owner has stopped.
func (b *inbox) put(r *request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.items = append(b.items, r)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

func (b *inbox) take() []*request {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := b.items
	b.items = nil
	return items
}

// close refuses further requests and returns those still queued.
func (b *inbox) close() []*request {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	items := b.items
	b.items = nil
	return items
}

// Limits of the topic set. Genesys allows 1,000 topics per channel and 20
// channels per user or OAuth client; one channel is kept free so that a
// handover can always open a new one. WithMaxChannels lowers them.
const (
	TopicsPerChannel = genesys.TopicsPerChannel
	MaxChannels      = 19
	MaxTopics        = MaxChannels * TopicsPerChannel
)

// maxOwners is how many channels the set may spread over: all but the
// spare one, which carries handovers.
func (c *Client) maxOwners() int { return max(c.cfg.maxChannels-1, 1) }

// route spreads a change over the owners: removals where the topics are,
// additions into the first owners with room, and new owners as needed.
// It queues a request per owner, in order, and returns them; before Run
// they are answered at once, and the owners apply them when they start.
func (c *Client) route(add, remove []string) (map[*owner]*request, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.routeLocked(add, remove)
}

// routeLocked is route; the caller holds c.mu.
func (c *Client) routeLocked(add, remove []string) (map[*owner]*request, error) {
	adds, remove, err := c.fresh(add, remove)
	if err != nil {
		return nil, err
	}
	dest, err := c.place(adds, remove)
	if err != nil {
		return nil, err
	}
	reqs := map[*owner]*request{}
	reqOf := func(o *owner) *request {
		if reqs[o] == nil {
			reqs[o] = newRequest(requestChange)
		}
		return reqs[o]
	}
	for _, t := range remove {
		if o := c.where[t]; o != nil {
			c.unrouteLocked(o, []string{t})
			reqOf(o).remove = append(reqOf(o).remove, t)
		}
	}
	for len(c.owners) < dest.owners {
		c.owners = append(c.owners, c.newOwner())
	}
	for j, t := range adds {
		o := c.owners[dest.index[j]]
		c.rerouteLocked(o, []string{t})
		reqOf(o).add = append(reqOf(o).add, t)
	}
	for o, r := range reqs {
		if !o.inbox.put(r) {
			r.answer(ErrClosed)
		} else if c.run == nil {
			r.answer(nil) // applied when the owner starts
		}
	}
	for _, o := range c.owners {
		c.start(o)
	}
	return reqs, nil
}

// fresh returns the topics of add not in the set, each once, and those
// of remove, each once, after checking the limit. The caller holds c.mu.
func (c *Client) fresh(add, remove []string) ([]string, []string, error) {
	total := c.totalLoad()
	seen := map[string]bool{}
	var adds []string
	grow := 0
	for _, t := range add {
		if !seen[t] && c.where[t] == nil {
			seen[t] = true
			adds = append(adds, t)
			grow += c.grammar.Weight(t)
		}
	}
	remove = slices.Compact(slices.Sorted(slices.Values(remove)))
	for _, t := range remove {
		if c.where[t] != nil {
			total -= c.grammar.Weight(t)
		}
	}
	if limit := c.maxOwners() * TopicsPerChannel; total+grow > limit {
		return nil, nil, fmt.Errorf("%w: %d + %d exceeds %d", ErrTooManyTopics, total, grow, limit)
	}
	return adds, remove, nil
}

// placement is where new topics go: the index of each one's owner, and
// how many owners that takes.
type placement struct {
	index  []int
	owners int
}

// place puts each topic of adds into the first owner with room, first
// fit, counting the room that remove frees; a retiring owner takes none.
// The caller holds c.mu.
func (c *Client) place(adds, remove []string) (placement, error) {
	room := make([]int, len(c.owners), c.maxOwners())
	for i, o := range c.owners {
		if o != c.retiring {
			room[i] = TopicsPerChannel - c.load[o]
		}
	}
	for _, t := range remove {
		if o := c.where[t]; o != nil && o != c.retiring {
			room[slices.Index(c.owners, o)] += c.grammar.Weight(t)
		}
	}
	p := placement{index: make([]int, len(adds))}
	for j, t := range adds {
		i := slices.IndexFunc(room, func(r int) bool { return r >= c.grammar.Weight(t) })
		if i < 0 {
			if len(room) == c.maxOwners() {
				return p, fmt.Errorf("%w: no channel has room for %q", ErrTooManyTopics, t)
			}
			room = append(room, TopicsPerChannel)
			i = len(room) - 1
		}
		room[i] -= c.grammar.Weight(t)
		p.index[j] = i
	}
	p.owners = len(room)
	return p, nil
}

// unroute forgets that topics are o's: they left its set.
func (c *Client) unroute(o *owner, topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unrouteLocked(o, topics)
}

func (c *Client) unrouteLocked(o *owner, topics []string) {
	for _, t := range topics {
		if c.where[t] == o {
			delete(c.where, t)
			c.load[o] -= c.grammar.Weight(t)
		}
	}
}

// reroute records that topics are o's: a withdrawn removal.
func (c *Client) reroute(o *owner, topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rerouteLocked(o, topics)
}

func (c *Client) rerouteLocked(o *owner, topics []string) {
	for _, t := range topics {
		if c.where[t] == nil {
			c.where[t] = o
			c.load[o] += c.grammar.Weight(t)
		}
	}
}

// totalLoad is the weight of the whole set. The caller holds c.mu.
func (c *Client) totalLoad() int {
	total := 0
	for _, n := range c.load {
		total += n
	}
	return total
}

// kickReshard asks the resharder to look for a channel to retire.
func (c *Client) kickReshard() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// reshard is a goroutine of Run: after removals, it empties the last
// owner into the others while the set fits in fewer channels, and stops
// it. Callers never wait for it.
func (c *Client) reshard(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		for c.shrink(ctx) {
		}
	}
}

// shrink retires the last owner if the others have room for its topics,
// and reports whether it did. Topics are subscribed on their new channel
// before they leave the old one; copies of an event that both deliver
// meanwhile are dropped. Its socket is then read to its end, so what it
// got before the removal is delivered once.
func (c *Client) shrink(ctx context.Context) bool {
	last, moves, leave := c.planShrink()
	if last == nil {
		return false
	}
	overlap := c.holdDedup()
	defer c.releaseDedup(overlap)
	retire := newRequest(requestRetire)
	drained := false
	for _, r := range slices.Concat(slices.Collect(maps.Values(moves)), []*request{leave, retire}) {
		if r == leave && !(last.inbox.put(leave) && last.inbox.put(retire)) {
			break
		}
		select {
		case err := <-r.done:
			drained = r == retire && err == nil
		case <-ctx.Done():
			return false
		}
	}
	for o := range moves {
		settle := newRequest(requestSettle)
		settle.drained = drained
		o.inbox.put(settle)
	}
	c.mu.Lock()
	c.owners = slices.DeleteFunc(c.owners, func(o *owner) bool { return o == last })
	c.retiring = nil
	delete(c.load, last)
	stop := c.stops[last]
	delete(c.stops, last)
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-last.exited
	}
	return true
}

// planShrink routes the last owner's topics to the others if they have
// room, and returns the last owner, the requests that add them elsewhere
// (queued) and the one that removes them from it (not yet queued).
func (c *Client) planShrink() (*owner, map[*owner]*request, *request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := c.totalLoad()
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
	c.retiring = last
	dest, err := c.place(moving, nil)
	if err != nil || dest.owners > n {
		c.retiring = nil
		return nil, nil, nil // fragmented: the last channel stays
	}
	reqs := map[*owner]*request{}
	for j, t := range moving {
		o := c.owners[dest.index[j]]
		c.unrouteLocked(last, []string{t})
		c.rerouteLocked(o, []string{t})
		if reqs[o] == nil {
			reqs[o] = newRequest(requestMove)
		}
		reqs[o].add = append(reqs[o].add, t)
	}
	for o, r := range reqs {
		if !o.inbox.put(r) {
			r.answer(ErrClosed)
		}
	}
	leave := newRequest(requestChange)
	leave.remove = moving
	return last, reqs, leave
}
