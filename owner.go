package notify

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/wire"
)

// owner is one channel's worth of topics and the one goroutine, run, that
// owns its set, its connection and its timers. Subscribe and Unsubscribe
// reach it as requests in its inbox; renewal and handover are its own
// decisions. Everything that waits on the network (dials, subscription
// changes, pings, drains) runs in a task goroutine that reports back on a
// channel, so the owner always watches the heartbeat.
type owner struct {
	c      *Client
	num    int // the shard's number, from 1
	proto  wire.Protocol
	inbox  inbox
	spare  chan wire.Session      // a spare channel granted for a handover, with a session to reuse
	connID atomic.Pointer[string] // the live connection's id, for Stats; nil while there is none

	// Guarded by c.mu.
	want     set                // the desired set; only run touches it once started
	count    int                // topics routed here
	retiring bool               // being emptied into other owners
	stop     context.CancelFunc // ends run; nil until started
	exited   chan struct{}      // closed when run has returned

	// The rest is run's alone.
	clk        clock.Clock
	policy     *retryPolicy // reconnects
	changeWait *retryPolicy // subscription changes retried on the same connection
	tasks      sync.WaitGroup

	cur, old     *live        // the serving connection, and one being let go after a handover
	held         set          // the server's set on cur
	first        bool         // no connection was up yet
	lostAt       time.Time    // when the last connection ended
	failures     int          // attempts in a row that failed or ended early
	after        wire.Class   // what ended the previous connection, for the next dial
	announced    bool         // cur's server announced a close that no handover answered
	dialing      bool         // a dial task is out
	handingOver  bool         // ... and it is a handover's
	followsClose bool         // ... or a reconnect after an announced close
	overlap      *dedup       // held from a handover's dial until old is gone
	holding      bool         // holds a spare channel
	lease        wire.Session // the session granted with it, to reuse
	draining     bool         // a drain task reads old to its end
	queued       bool         // waits for a spare channel for a handover
	putBusy      bool         // a change or renewal task is out
	backingOff   bool         // a failed change waits for putRetry
	waiting      []*request   // changes in want, not yet sent
	putting      []*request   // changes in the task out
	pingedAt     time.Time    // when the unanswered ping was sent; zero if none
	announce     *Connected   // cur's Connected, delivered once the set is in place
	dialDone     chan dialResult
	putDone      chan putResult
	drainDone    chan drained
	stopped      chan struct{} // closed when run ends
	retry        clock.Timer   // next dial
	putRetry     clock.Timer   // next try of a failed change
	watch        clock.Timer   // heartbeat
	renew        clock.Timer   // renewal
}

// set is a set of topics.
type set map[string]struct{}

func (s set) sorted() []string { return slices.Sorted(maps.Keys(s)) }

// never stands for "not now" in timers.
const never = time.Duration(1<<63 - 1)

// live is one connection of an owner.
type live struct {
	conn    wire.Conn
	gen     uint64        // numbers connections across the client, for de-duplication
	up      time.Time     // when it connected
	ended   chan error    // the reader's result
	closing chan struct{} // the server announced a close
	reaped  bool          // ended was received

	gated  atomic.Bool    // its Connected is not delivered yet
	mu     sync.Mutex     // guards early while gated
	early  []Notification // read while gated
	why    error          // why the owner ended it, if it did
	ctx    context.Context
	cancel context.CancelFunc // ends its tasks
}

// end closes the connection for a reason, once; its reader then ends.
func (l *live) end(why error) {
	if l.why != nil {
		return
	}
	l.why = why
	l.cancel()
	l.conn.Close()
}

// deliver passes n on, or holds it while the connection's Connected has
// not been delivered, so that its events follow it.
func (l *live) deliver(out *outbox, n Notification) {
	if l.gated.Load() {
		l.mu.Lock()
		if l.gated.Load() {
			l.early = append(l.early, n)
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
	out.push(n)
}

// open delivers ev and the events held before it, and lets the rest
// through.
func (l *live) open(out *outbox, ev Connected) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out.push(ev)
	for _, n := range l.early {
		out.push(n)
	}
	l.early = nil
	l.gated.Store(false)
}

// drained is the end of a drain of a handover's old connection.
type drained struct {
	l   *live
	err error
}

type dialResult struct {
	conn     wire.Conn
	topics   []string
	rejected []wire.Rejection
	err      error
}

type putResult struct {
	l        *live
	renewal  bool
	topics   []string
	rejected []wire.Rejection
	err      error
}

// request is a change of the set from Subscribe or Unsubscribe, or the
// withdrawal of one whose caller gave up.
type request struct {
	add, remove []string
	done        chan error // answered once
	withdraw    *request   // the change to withdraw, for a withdrawal
	cause       error      // for a withdrawal: the caller's context error
	retire      bool       // read the connection to its end, then answer: the owner is about to stop

	// run's: what the change did to the set, and whether it is answered.
	added, removed []string
	answered       bool
}

func (r *request) answer(err error) {
	if !r.answered {
		r.answered = true
		r.done <- err
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

func newOwner(c *Client, num int) *owner {
	return &owner{
		c:      c,
		num:    num,
		proto:  c.newProtocol(num),
		inbox:  inbox{wake: make(chan struct{}, 1)},
		spare:  make(chan wire.Session, 1),
		want:   set{},
		exited: make(chan struct{}),
	}
}

// run serves the channel until ctx ends or a permanent error occurs.
func (o *owner) run(ctx context.Context) error {
	cfg := &o.c.cfg
	o.clk = cfg.clock
	o.policy = newRetryPolicy(cfg.backoffInitial, cfg.backoffMax)
	o.changeWait = newRetryPolicy(max(cfg.backoffInitial, time.Millisecond), cfg.backoffMax)
	o.first = true
	o.dialDone, o.putDone, o.drainDone = make(chan dialResult, 1), make(chan putResult, 1), make(chan drained, 1)
	o.stopped = make(chan struct{})
	o.retry, o.putRetry = o.clk.NewTimer(never), o.clk.NewTimer(never)
	o.watch, o.renew = o.clk.NewTimer(never), o.clk.NewTimer(never)
	defer o.shutdown()

	o.dial(ctx, wire.Transient, false, nil)
	for {
		var ended, oldEnded <-chan error
		var closing <-chan struct{}
		if o.cur != nil {
			ended, closing = o.cur.ended, o.cur.closing
		}
		if o.old != nil {
			oldEnded = o.old.ended
		}
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-o.inbox.wake:
			o.serve(o.inbox.take())
		case r := <-o.dialDone:
			err = o.dialed(r)
		case <-o.retry.C():
			o.dial(ctx, o.after, false, nil)
		case e := <-ended:
			o.cur.reaped = true
			err = o.lost(e)
		case <-closing:
			o.handover(ctx)
		case s := <-o.spare:
			o.holding, o.queued, o.lease = true, false, s
			o.handover(ctx)
		case <-oldEnded:
			o.old.reaped = true
			if o.draining {
				o.old.cancel() // the drain ends, and reports
			} else {
				o.letGo(nil)
			}
		case d := <-o.drainDone:
			if d.err != nil {
				o.c.log.Warn("notify: old connection not drained", "channel", d.l.conn.ID(), "err", d.err)
			}
			if d.l == o.old && d.err == nil {
				o.letGo(d.l.conn.Session())
			} else if d.l == o.old {
				o.letGo(nil)
			}
		case r := <-o.putDone:
			err = o.changed(r)
		case <-o.putRetry.C():
			o.backingOff = false
			o.put()
		case <-o.watch.C():
			o.heartbeat()
		case <-o.renew.C():
			o.renewal()
		}
		if err != nil {
			return err
		}
	}
}

// shutdown ends every connection and task and answers every request.
func (o *owner) shutdown() {
	close(o.stopped)
	o.c.unqueue(o)
	select {
	case s := <-o.spare: // granted after all
		o.holding, o.lease = true, s
	default:
	}
	defer func() { o.unholdLeaving(o.lease) }()
	for _, r := range o.inbox.close() {
		r.answer(ErrClosed)
	}
	for _, r := range slices.Concat(o.putting, o.waiting) {
		r.answer(ErrClosed)
	}
	o.putting, o.waiting = nil, nil
	for _, l := range []*live{o.cur, o.old} {
		if l != nil {
			l.end(ErrClosed)
		}
	}
	o.tasks.Wait()
	if o.overlap != nil {
		o.c.releaseDedup(o.overlap)
	}
	for _, t := range []clock.Timer{o.retry, o.putRetry, o.watch, o.renew} {
		t.Stop()
	}
	o.connID.Store(nil)
}

// task runs f in a goroutine that run waits for before it returns.
func (o *owner) task(f func()) {
	o.tasks.Add(1)
	go func() {
		defer o.tasks.Done()
		f()
	}()
}

// dial opens a connection with the whole set.
func (o *owner) dial(ctx context.Context, after wire.Class, handover bool, reuse wire.Session) {
	o.dialing, o.handingOver = true, handover
	topics := o.want.sorted()
	o.task(func() {
		conn, rej, err := o.proto.Dial(ctx, topics, after, reuse)
		o.dialDone <- dialResult{conn, topics, rej, err}
	})
}

// dialed makes a new connection the serving one, or handles the failure.
func (o *owner) dialed(r dialResult) error {
	handover := o.handingOver
	o.dialing, o.handingOver = false, false
	if !handover {
		o.unhold() // a handover's dial that became a reconnect
	}
	if r.err != nil {
		if handover {
			o.unhold()
			o.c.releaseDedup(o.overlap)
			o.overlap = nil
			o.announced = true
			o.c.log.Warn("notify: handover failed; staying until the server closes", "channel", o.cur.conn.ID(), "err", r.err)
			return nil
		}
		followsClose := o.followsClose
		o.followsClose = false
		return o.failed(r.err, "", followsClose)
	}
	o.followsClose = false
	now := o.clk.Now()
	l := &live{conn: r.conn, gen: o.c.gen.Add(1), up: now, ended: make(chan error, 1), closing: make(chan struct{}, 1)}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.gated.Store(true)
	o.task(func() { o.read(l) })
	ev := Connected{ChannelID: r.conn.ID(), Reconnect: !o.first}
	if handover {
		o.old = o.cur
		o.c.log.Info("notify: handed over", "from", o.old.conn.ID(), "to", l.conn.ID(), "gen", l.gen)
		o.draining = true
		o.drain(o.old)
	} else if !o.first {
		ev.Gap, ev.Downtime = true, now.Sub(o.lostAt)
	}
	o.first, o.announced = false, false
	o.cur = l
	o.held = set{}
	for _, t := range r.topics {
		o.held[t] = struct{}{}
	}
	o.reject(r.rejected)
	o.pingedAt = time.Time{}
	o.watch.Reset(o.c.cfg.heartbeat)
	o.scheduleRenewal()
	// Connected promises the whole set: changes made while dialing are
	// sent first.
	o.announce = &ev
	if o.put(); !o.putBusy {
		o.connected()
	}
	return nil
}

// connected delivers the Connected event of cur and starts its reader, so
// its events follow it.
func (o *owner) connected() {
	ev, l := o.announce, o.cur
	if ev == nil || l == nil || l.why != nil {
		return
	}
	o.announce = nil
	ev.Topics = o.held.sorted()
	id := l.conn.ID()
	o.connID.Store(&id)
	o.c.log.Info("notify: connected", "channel", id, "gen", l.gen)
	if ev.Reconnect {
		o.c.stats.reconnects.Add(1)
	}
	l.open(o.c.out, *ev)
	if ev.Gap || !ev.Reconnect {
		o.resync(l, ev.Topics)
	}
}

// resync reads the state of topics in a task, if the client takes
// snapshots and the protocol can, and delivers a Snapshot per topic read,
// then Resynced. It ends with l: the next connection reads again.
func (o *owner) resync(l *live, topics []string) {
	sr, ok := o.proto.(wire.StateReader)
	if !o.c.cfg.snapshots || !ok {
		return
	}
	o.task(func() {
		// Dated when the read starts: an event read meanwhile is newer.
		taken := o.clk.Now()
		read, skipped, err := sr.ReadState(l.ctx, topics)
		if l.ctx.Err() != nil {
			return
		}
		ev := Resynced{ChannelID: l.conn.ID(), Skipped: skipped, Err: public(err)}
		for _, t := range slices.Sorted(maps.Keys(read)) {
			o.c.out.push(Snapshot{Topic: t, Body: read[t], Taken: taken})
			ev.Topics = append(ev.Topics, t)
		}
		if err != nil {
			o.c.log.Warn("notify: reading state after a gap failed", "channel", l.conn.ID(), "skipped", len(skipped), "err", ev.Err)
		}
		o.c.out.push(ev)
	})
}

// lost handles the end of the serving connection.
func (o *owner) lost(err error) error {
	l := o.cur
	o.cur, o.held = nil, nil
	o.connID.Store(nil)
	if o.queued {
		o.queued = false
		o.c.unqueue(o)
	}
	select {
	case s := <-o.spare: // granted just now: no longer wanted
		o.holding, o.lease = true, s
	default:
	}
	if o.holding && !o.dialing {
		o.unholdLeaving(o.lease)
		o.lease = nil
	}
	if l.why != nil {
		err = l.why
	}
	l.end(err)
	if o.old != nil {
		o.old.end(errHandedOver)
		o.letGo(nil)
	}
	// Changes not yet confirmed are in the set, which the next
	// connection subscribes: the same as a change while disconnected.
	for _, r := range slices.Concat(o.putting, o.waiting) {
		r.answer(nil)
	}
	o.putting, o.waiting = nil, nil
	o.backingOff = false
	for _, t := range []clock.Timer{o.putRetry, o.watch, o.renew} {
		t.Stop()
	}
	now := o.clk.Now()
	o.lostAt = now
	if now.Sub(l.up) >= o.c.cfg.backoffMax {
		o.policy.reset()
		o.failures = 0
	}
	announced := o.announced || o.handingOver
	select {
	case <-l.closing: // announced, though the owner had not seen it yet
		announced = true
	default:
	}
	o.announced = false
	if announced && !errors.Is(err, ErrPlannedClose) {
		err = fmt.Errorf("%w: %w", ErrPlannedClose, err)
	}
	return o.failed(err, l.conn.ID(), announced)
}

// failed reports a lost connection or a failed attempt and schedules the
// next one, or returns the error that ends Run.
func (o *owner) failed(err error, channel string, announced bool) error {
	err = public(err)
	o.c.stats.failed(err, o.clk.Now())
	cl, wait := o.ending(err, announced)
	if cl == wire.Permanent {
		return err
	}
	o.failures++
	if n := o.c.cfg.maxAttempts; n > 0 && o.failures >= n {
		return fmt.Errorf("notify: giving up after %d attempts: %w", o.failures, err)
	}
	o.after = cl
	o.c.log.Warn("notify: disconnected", "channel", channel, "err", err, "retry_in", wait)
	o.c.out.push(Disconnected{ChannelID: channel, Err: err, RetryIn: wait})
	if o.dialing {
		// A handover's dial is out: it becomes the reconnect, and if it
		// fails the next one starts at once.
		o.handingOver, o.followsClose = false, true
		o.c.releaseDedup(o.overlap)
		o.overlap = nil
		return nil
	}
	o.retry.Reset(wait)
	return nil
}

// errHandedOver ends a connection that a handover replaced.
var errHandedOver = errors.New("notify: handed over to a new connection")

// handover answers a planned close make-before-break: a new session is
// dialed with the whole set while cur goes on serving; once it is up, cur
// is read to its end and let go. Events both deliver meanwhile are passed
// on once.
func (o *owner) handover(ctx context.Context) {
	if o.dialing || o.queued || o.cur == nil {
		if o.holding && !o.handingOver {
			o.unholdLeaving(o.lease)
			o.lease = nil
		}
		return
	}
	if !o.holding {
		s, ok := o.c.takeSpare(o)
		if !ok {
			// Until the spare comes, the close is announced: if the server
			// closes first, the next connection follows at once.
			o.queued, o.announced = true, true
			o.c.log.Info("notify: planned close; waiting for a spare channel to hand over", "channel", o.cur.conn.ID())
			return
		}
		o.holding, o.lease = true, s
	}
	if o.old != nil { // the previous handover's old connection
		o.old.end(errHandedOver)
		o.letGo(nil)
	}
	o.overlap = o.c.holdDedup()
	o.dial(ctx, wire.FreshSession, true, o.lease)
	o.lease = nil
}

// drain reads l to its end in a task, then leaves it with a close
// handshake, so the server counts its channel unconnected before the
// spare channel goes to the next handover. It gives up only when l makes
// no progress for half the heartbeat timeout, so a long backlog is read
// to its end.
func (o *owner) drain(l *live) {
	half := o.c.cfg.heartbeat / 2
	o.task(func() {
		err := o.readToEnd(l, half)
		if err == nil {
			l.conn.Leave()
		}
		select {
		case o.drainDone <- drained{l, err}:
		case <-o.stopped: // a drain of an earlier old connection, unread
		}
	})
}

// readToEnd waits until l has read everything its server sent before now.
func (o *owner) readToEnd(l *live, half time.Duration) error {
	ctx, cancel := context.WithCancel(l.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.conn.Drain(ctx) }()
	t := o.clk.NewTimer(half)
	defer t.Stop()
	last := l.conn.Seen()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C():
			if now := l.conn.Seen(); !now.Equal(last) {
				last = now
				t.Reset(half)
				continue
			}
			cancel()
			<-done
			return fmt.Errorf("%w while draining", ErrHeartbeatTimeout)
		}
	}
}

// unhold returns the spare channel, if o holds one.
func (o *owner) unhold() { o.unholdLeaving(nil) }

// unholdLeaving returns the spare channel with the session a handover
// left on it, for the next handover.
func (o *owner) unholdLeaving(left wire.Session) {
	if o.holding {
		o.holding = false
		o.c.releaseSpare(left)
	}
}

// letGo ends the old connection of a handover, closes the overlap and
// returns the spare channel, with left, the old session if it may serve
// the next handover.
func (o *owner) letGo(left wire.Session) {
	l := o.old
	if l == nil {
		return
	}
	o.old, o.draining = nil, false
	defer o.unholdLeaving(left)
	l.end(errHandedOver)
	if !l.reaped {
		<-l.ended
	}
	if o.overlap != nil {
		o.c.releaseDedup(o.overlap)
		o.overlap = nil
	}
}

// read is a connection's reader task: it delivers notifications and
// reports announcements and the end.
func (o *owner) read(l *live) {
	for {
		f, err := l.conn.Next()
		if err != nil {
			l.ended <- err
			return
		}
		switch f.Kind {
		case wire.Notify:
			n := notification(f.Event)
			if !o.c.duplicate(l.gen, &n) {
				l.deliver(o.c.out, n)
			}
		case wire.Invalid:
			o.c.log.Warn("notify: skipping an undecodable frame", "channel", l.conn.ID(), "gen", l.gen, "err", f.Err)
		case wire.Closing:
			select {
			case l.closing <- struct{}{}:
			default:
			}
		}
	}
}

// notification converts an event off the wire for the user.
func notification(e wire.Event) Notification {
	return Notification{Topic: e.Topic, Version: e.Version, CorrelationID: e.CorrelationID, Body: e.Body, Received: e.Received}
}

// heartbeat watches cur: alive means a frame or pong since the ping, if
// one was sent, else one within the timeout. Silent for the timeout, it
// is pinged; silent half as long again, it is replaced. A late timer
// cannot make a live socket dead.
func (o *owner) heartbeat() {
	l := o.cur
	if l == nil {
		return
	}
	hb := o.c.cfg.heartbeat
	now := o.clk.Now()
	seen := l.conn.Seen()
	idle := now.Sub(seen)
	switch {
	case o.pingedAt.IsZero() && idle < hb, !o.pingedAt.IsZero() && !seen.Before(o.pingedAt):
		o.pingedAt = time.Time{}
		o.watch.Reset(max(hb-idle, 0))
	case o.pingedAt.IsZero():
		o.pingedAt = now
		o.task(func() {
			ctx, cancel := context.WithTimeout(l.ctx, hb/2)
			defer cancel()
			if err := l.conn.Ping(ctx); err != nil {
				o.c.log.Debug("notify: ping failed", "channel", l.conn.ID(), "gen", l.gen, "err", err)
			}
		})
		o.watch.Reset(hb / 2)
	default:
		l.end(fmt.Errorf("%w for %v", ErrHeartbeatTimeout, idle.Round(time.Millisecond)))
	}
}

// scheduleRenewal sets the renewal timer from cur.
func (o *owner) scheduleRenewal() {
	at := o.cur.conn.RenewAt()
	if at.IsZero() {
		o.renew.Reset(never)
		return
	}
	o.renew.Reset(max(at.Sub(o.clk.Now()), 0))
}

// renewal keeps cur from expiring; a change under way renews it anyway.
func (o *owner) renewal() {
	l := o.cur
	if l == nil {
		return
	}
	if o.putBusy {
		o.renew.Reset(o.c.cfg.heartbeat / 2)
		return
	}
	o.putBusy = true
	topics := o.held.sorted()
	o.task(func() {
		rej, err := l.conn.Renew(l.ctx, topics)
		o.putDone <- putResult{l: l, renewal: true, topics: topics, rejected: rej, err: err}
	})
}

// put sends the set to the server if it differs from what cur holds.
// Changes queued meanwhile ride the next put.
func (o *owner) put() {
	l := o.cur
	if l == nil || o.putBusy || o.backingOff || o.handingOver {
		return
	}
	var added, removed []string
	for t := range o.want {
		if _, ok := o.held[t]; !ok {
			added = append(added, t)
		}
	}
	for t := range o.held {
		if _, ok := o.want[t]; !ok {
			removed = append(removed, t)
		}
	}
	if len(added)+len(removed) == 0 {
		for _, r := range o.waiting {
			r.answer(nil)
		}
		o.waiting = nil
		return
	}
	slices.Sort(added)
	slices.Sort(removed)
	o.putting, o.waiting = o.waiting, nil
	o.putBusy = true
	topics := o.want.sorted()
	o.task(func() {
		rej, err := l.conn.Change(l.ctx, topics, added, removed)
		o.putDone <- putResult{l: l, topics: topics, rejected: rej, err: err}
	})
}

// changed handles the answer to a change or a renewal.
func (o *owner) changed(r putResult) error {
	o.putBusy = false
	defer func() {
		if !o.putBusy {
			o.connected()
		}
	}()
	if r.l != o.cur { // answered on a connection since replaced
		o.waiting = append(o.putting, o.waiting...)
		o.putting = nil
		o.put()
		return nil
	}
	if r.err == nil {
		if !r.renewal {
			o.held = set{}
			for _, t := range r.topics {
				o.held[t] = struct{}{}
			}
		}
		rejected := o.reject(r.rejected)
		var added []string
		for _, req := range o.putting {
			req.answer(verdict(req, rejected))
			for _, t := range req.added {
				if _, ok := o.held[t]; ok {
					added = append(added, t)
				}
			}
		}
		o.putting = nil
		if o.announce == nil && len(added) > 0 {
			o.resync(r.l, added) // topics added while connected start from their state too
		}
		o.changeWait.reset()
		o.scheduleRenewal()
		o.put()
		return nil
	}
	cl, after := wire.ClassOf(r.err)
	err := public(r.err)
	switch {
	case cl == wire.Permanent:
		for _, req := range o.putting {
			req.answer(err)
		}
		o.putting = nil
		return err
	case cl == wire.FreshSession || cl == wire.FreshToken:
		// Only a gone session moves the set, with a reported gap.
		r.l.end(r.err)
	case r.renewal:
		o.c.log.Warn("notify: renewing the connection failed", "channel", r.l.conn.ID(), "err", err)
		o.renew.Reset(o.c.cfg.backoffMax)
		o.put()
	case cl == wire.Refused:
		for _, req := range o.putting {
			o.revert(req)
			req.answer(fmt.Errorf("notify: the server refused the subscription change: %w", err))
		}
		o.putting = nil
		o.put()
	default: // transient or rate limited: again on the same connection
		wait := o.changeWait.next(cl, after)
		o.c.log.Warn("notify: subscription change failed; retrying on the same connection", "channel", r.l.conn.ID(), "err", err, "retry_in", wait)
		o.waiting = append(o.putting, o.waiting...)
		o.putting = nil
		o.backingOff = true
		o.putRetry.Reset(wait)
	}
	return nil
}

// serve applies requests to the set in the order they were routed. While
// connected, changes wait for the server's verdict; while not, they are
// answered at once and replayed on connect.
func (o *owner) serve(reqs []*request) {
	for _, r := range reqs {
		if r.withdraw != nil {
			o.withdraw(r.withdraw, r.cause)
			continue
		}
		if r.retire {
			if l := o.cur; l != nil {
				o.task(func() { r.done <- o.readToEnd(l, o.c.cfg.heartbeat/2) })
			} else {
				r.answer(nil)
			}
			continue
		}
		for _, t := range r.add {
			if _, ok := o.want[t]; !ok {
				o.want[t] = struct{}{}
				r.added = append(r.added, t)
			}
		}
		for _, t := range r.remove {
			if _, ok := o.want[t]; ok {
				delete(o.want, t)
				r.removed = append(r.removed, t)
			}
		}
		if o.cur == nil {
			r.answer(nil)
		} else {
			o.waiting = append(o.waiting, r)
		}
	}
	o.put()
}

// withdraw undoes a change whose caller gave up before its verdict, and
// answers it with the caller's error. An answered change stays.
func (o *owner) withdraw(r *request, cause error) {
	if r.answered {
		return
	}
	o.waiting = slices.DeleteFunc(o.waiting, func(q *request) bool { return q == r })
	o.putting = slices.DeleteFunc(o.putting, func(q *request) bool { return q == r })
	o.revert(r)
	r.answer(cause)
	o.put()
}

// revert undoes what a change did to the set.
func (o *owner) revert(r *request) {
	for _, t := range r.added {
		delete(o.want, t)
	}
	for _, t := range r.removed {
		o.want[t] = struct{}{}
	}
	o.c.unroute(o, r.added)
	o.c.reroute(o, r.removed)
}

// reject removes refused topics from the set and reports them.
func (o *owner) reject(rej []wire.Rejection) map[string]string {
	if len(rej) == 0 {
		return nil
	}
	reasons := make(map[string]string, len(rej))
	topics := make([]string, len(rej))
	for i, r := range rej {
		reasons[r.Topic] = r.Reason
		topics[i] = r.Topic
		delete(o.want, r.Topic)
		delete(o.held, r.Topic)
		o.c.log.Warn("notify: topic rejected", "topic", r.Topic, "reason", r.Reason, "missing", r.MissingPermissions)
		o.c.out.push(Rejected{Topic: r.Topic, Reason: r.Reason, MissingPermissions: r.MissingPermissions})
	}
	o.c.unroute(o, topics)
	return reasons
}

// verdict is a change's answer: an error naming its refused topics, or nil.
func verdict(r *request, rejected map[string]string) error {
	var errs []error
	for _, t := range r.added {
		if reason, ok := rejected[t]; ok {
			errs = append(errs, fmt.Errorf("%w: %s: %s", ErrRejected, t, reason))
		}
	}
	return errors.Join(errs...)
}
