package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/wire"
)

// owner is one channel's worth of topics and the one goroutine, run, that
// owns its set, its connection and its timers, as a named phase. Requests
// reach it in its inbox; everything that waits on the network (dials,
// subscription changes, pings, drains, state reads) runs in a task that
// reports back on results, so the owner always watches the heartbeat.
//
//	idle ──▶ dialing ──▶ announcing ──▶ serving
//	            ▲  │          │  ▲          │
//	            │  ▼          ▼  └──────────┤ (a handover's connection)
//	         backing off ◀────────────────── (lost, or not announced in time)
//
// Every phase may go to stopped. A handover (handover.go), a subscription
// change (change.go) and the connection's gate (live.go) are sub-machines
// of their own; topics arriving from a retiring channel wait in a
// holdback (move.go).
type owner struct {
	num    int
	host   host
	cfg    *config
	log    *slog.Logger
	out    *outbox
	proto  wire.Protocol
	inbox  inbox
	spare  chan wire.Session        // a spare channel granted for a handover
	connID atomic.Pointer[string]   // the serving connection's id, for Stats
	exited chan struct{}            // closed when run has returned
	hold   atomic.Pointer[holdback] // events of topics arriving from a retiring channel

	// The rest is run's alone.
	phase    phase
	clk      clock.Clock
	policy   *retryPolicy // reconnects
	tasks    sync.WaitGroup
	results  chan any                // what tasks report
	stopped  chan struct{}           // closed when run ends
	want     set                     // the desired set
	held     set                     // the server's set on cur
	cur      *live                   // the connection, from announcing on
	connects int                     // connections made: after the first, events may have been missed
	lostAt   time.Time               // when the last connection ended
	failures int                     // attempts in a row that failed or ended early
	after    wire.Class              // what ended the previous connection, for the next dial
	pending  Connected               // cur's Connected, while announcing
	giveUp   context.CancelCauseFunc // ends the dial out
	pingedAt time.Time               // when the unanswered ping was sent; zero if none
	chg      changes                 // the subscription change in flight
	ho       handover                // the handover in progress
	timer    clock.Timer             // the phase's deadline: the next dial, a dial's, or the announcement's
	watch    clock.Timer             // heartbeat
	renew    clock.Timer             // renewal
}

// phase is where an owner's connection stands.
type phase int

const (
	phaseIdle       phase = iota // run has not started
	phaseDialing                 // a dial is out and nothing serves
	phaseAnnouncing              // connected; the set is put in place before Connected goes out
	phaseServing                 // connected, Connected out
	phaseBackingOff              // nothing serves; the timer starts the next dial
	phaseStopped                 // run has returned
)

func (p phase) String() string {
	return [...]string{"idle", "dialing", "announcing", "serving", "backing off", "stopped"}[p]
}

// next lists the legal transitions; any phase may stop.
var next = map[phase][]phase{
	phaseIdle:       {phaseDialing},
	phaseDialing:    {phaseAnnouncing, phaseBackingOff},
	phaseAnnouncing: {phaseServing, phaseBackingOff, phaseDialing},
	phaseServing:    {phaseAnnouncing, phaseBackingOff, phaseDialing},
	phaseBackingOff: {phaseDialing},
}

// to moves the owner to phase p, which must be legal from where it is.
func (o *owner) to(p phase, why string) {
	if p != phaseStopped && !slices.Contains(next[o.phase], p) {
		panic(fmt.Sprintf("notify: channel %d: no transition from %v to %v (%s)", o.num, o.phase, p, why))
	}
	o.log.Debug("notify: channel phase", "shard", o.num, "from", o.phase, "to", p, "why", why)
	o.phase = p
}

// host is what an owner reaches of its client: spare channels, placement,
// de-duplication, counters and the token cache. Nothing else.
type host interface {
	takeSpare(o *owner) (wire.Session, bool)
	releaseSpare(left wire.Session)
	unqueue(o *owner)
	unroute(o *owner, topics []string)
	reroute(o *owner, topics []string)
	holdDedup() *dedup
	releaseDedup(d *dedup)
	duplicate(gen uint64, n *Notification) bool
	nextGen() uint64
	failed(err error, at time.Time)
	reconnected()
	invalidateToken()
	paced() bool // REST calls wait for the budget
	logger() *slog.Logger
}

// set is a set of topics.
type set map[string]struct{}

func (s set) sorted() []string { return slices.Sorted(maps.Keys(s)) }

func setOf(topics []string) set {
	s := make(set, len(topics))
	for _, t := range topics {
		s[t] = struct{}{}
	}
	return s
}

// never stands for "not now" in timers.
const never = time.Duration(1<<63 - 1)

func newOwner(h host, cfg *config, out *outbox, proto wire.Protocol, num int) *owner {
	return &owner{
		num: num, host: h, cfg: cfg, log: h.logger(), out: out, proto: proto,
		inbox:  inbox{wake: make(chan struct{}, 1)},
		spare:  make(chan wire.Session, 1),
		exited: make(chan struct{}),
		want:   set{},
	}
}

// run serves the channel until ctx ends or a permanent error occurs.
func (o *owner) run(ctx context.Context) error {
	o.begin()
	defer o.shutdown()
	o.serve(o.inbox.take()) // changes queued before Run
	o.dial(ctx, wire.Transient, nil)
	for {
		var ended, closing <-chan struct{}
		if o.cur != nil {
			ended, closing = o.cur.done, o.cur.closing
		}
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-o.inbox.wake:
			o.serve(o.inbox.take())
		case r := <-o.results:
			if ctx.Err() != nil {
				return nil // ended with Run, not a fault to report
			}
			err = o.result(ctx, r)
		case <-o.timer.C():
			o.deadline(ctx)
		case <-ended:
			if ctx.Err() != nil {
				return nil // closed with Run's context, not lost
			}
			err = o.lost(o.cur.ended())
		case <-closing:
			o.planned(ctx)
		case s := <-o.spare:
			o.granted(ctx, s)
		case <-o.chg.retry.C():
			o.retryChange()
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

// begin makes run's timers and channels.
func (o *owner) begin() {
	o.clk = o.cfg.clock
	o.policy = newRetryPolicy(o.cfg.backoffInitial, o.cfg.backoffMax)
	o.chg = changes{wait: newRetryPolicy(max(o.cfg.backoffInitial, time.Millisecond), o.cfg.backoffMax), retry: o.clk.NewTimer(never)}
	o.results, o.stopped = make(chan any, 1), make(chan struct{})
	o.timer, o.watch, o.renew = o.clk.NewTimer(never), o.clk.NewTimer(never), o.clk.NewTimer(never)
}

// result dispatches what a task reported.
func (o *owner) result(ctx context.Context, r any) error {
	switch r := r.(type) {
	case dialResult:
		return o.dialed(ctx, r)
	case changeResult:
		return o.changed(r)
	case drained:
		o.drained(r)
	}
	return nil
}

// shutdown ends every connection and task and answers every request.
func (o *owner) shutdown() {
	o.to(phaseStopped, "run ends")
	close(o.stopped)
	for _, r := range o.inbox.close() {
		r.answer(ErrClosed)
	}
	o.chg.answerAll(ErrClosed)
	if o.cur != nil {
		o.cur.end(ErrClosed)
	}
	o.endHandover()
	o.tasks.Wait()
	for _, t := range []clock.Timer{o.timer, o.watch, o.renew, o.chg.retry} {
		t.Stop()
	}
	o.serves(nil)
}

// task runs f in a goroutine that run waits for before it returns.
func (o *owner) task(f func()) {
	o.tasks.Add(1)
	go func() {
		defer o.tasks.Done()
		f()
	}()
}

// report hands a task's result to run, unless run has ended.
func (o *owner) report(r any) {
	select {
	case o.results <- r:
	case <-o.stopped:
	}
}

type dialResult struct {
	conn     wire.Conn
	topics   []string
	rejected []wire.Rejection
	err      error
	ctx      context.Context         // the dial's, which ends with its connection
	release  context.CancelCauseFunc // ends ctx
}

// dial opens a connection with the whole set while nothing serves.
func (o *owner) dial(ctx context.Context, after wire.Class, reuse wire.Session) {
	o.to(phaseDialing, "dial")
	o.timer.Reset(o.dialTimeout())
	o.startDial(ctx, after, reuse)
}

// dialTimeout bounds a dial: twice the heartbeat timeout, as a dial makes
// up to three requests (a channel, its socket and the whole set).
func (o *owner) dialTimeout() time.Duration { return 2 * o.cfg.heartbeat }

// startDial runs a dial in a task; a handover's dial runs while cur
// serves. The dial's context is the connection's: it ends when the dial
// is given up, or with the connection it made.
func (o *owner) startDial(ctx context.Context, after wire.Class, reuse wire.Session) {
	topics := o.want.sorted()
	dctx, cancel := context.WithCancelCause(ctx)
	o.giveUp = cancel
	o.task(func() {
		conn, rej, err := o.proto.Dial(dctx, topics, after, reuse)
		if err != nil && ctx.Err() == nil && context.Cause(dctx) != dctx.Err() {
			err = context.Cause(dctx) // given up: say why
		}
		o.report(dialResult{conn, topics, rej, err, dctx, cancel})
	})
}

// errDialTimeout gives up a dial that took longer than its timeout
// (dialTimeout), so a hung request is reported and retried. The next dial opens
// a new session: the server may yet complete the abandoned connection,
// which on a reused session would displace the next one.
var errDialTimeout = wire.Classed(wire.FreshSession, errors.New("notify: connecting took longer than twice the heartbeat timeout"))

// dialed takes a dial's result: the reconnect's while dialing, else the
// handover's.
func (o *owner) dialed(ctx context.Context, r dialResult) error {
	o.giveUp = nil
	if r.err == nil && r.ctx.Err() != nil {
		// Given up just as it succeeded: its connection ends with its
		// context, so it is not used.
		r.conn.Close()
		r.err = cmp.Or(context.Cause(r.ctx), r.ctx.Err())
	}
	if r.err != nil {
		r.release(nil)
	}
	if o.phase != phaseDialing {
		return o.handedOver(r)
	}
	// A handover's dial that became the reconnect follows an announced
	// close: if it failed, the next one starts at once.
	followsClose := o.ho.phase == handoverDialing
	o.dialEnded()
	if r.err != nil {
		return o.failed(r.err, "", followsClose)
	}
	ev := Connected{ChannelID: r.conn.ID(), Reconnect: o.connects > 0}
	if ev.Reconnect {
		ev.Gap, ev.Downtime = true, o.clk.Now().Sub(o.lostAt)
	}
	o.connect(r, ev)
	return nil
}

// connect makes r's connection cur and announces it with ev once the set
// is in place.
func (o *owner) connect(r dialResult, ev Connected) {
	l := newLive(r.conn, o.host.nextGen(), o.clk.Now(), max(o.cfg.eventBuffer, dedupWindow), r.release)
	l.hold = &o.hold
	o.task(func() { l.read(o.host, o.out) })
	o.cur, o.held = l, setOf(r.topics)
	o.connects++
	o.reject(r.rejected)
	o.pingedAt = time.Time{}
	o.watch.Reset(o.cfg.heartbeat)
	o.scheduleRenewal()
	o.to(phaseAnnouncing, "connected")
	o.pending = ev
	// Connected promises the whole set: changes made while dialing go
	// first, within the heartbeat timeout.
	o.timer.Reset(o.cfg.heartbeat)
	o.send()
}

// announce delivers cur's Connected once the set is in place, and its
// held events after it.
func (o *owner) announce() {
	if o.phase != phaseAnnouncing || o.chg.phase != changeIdle || len(o.chg.waiting) > 0 || o.ho.phase == handoverDraining {
		return
	}
	if o.ho.phase == handoverSettling { // the set is in place: read old to its end first
		o.handoverTo(handoverDraining, "set in place")
		o.drain(o.ho.old)
		return
	}
	l, ev := o.cur, o.pending
	ev.Topics = o.held.sorted()
	id := l.conn.ID()
	o.serves(&id) // in Stats before Connected is read
	o.cfg.trace.connected(ev)
	if !l.open(o.host, o.out, ev) {
		o.serves(nil)
		return // the gate overflowed: the connection is ending
	}
	o.to(phaseServing, "set in place")
	o.timer.Reset(never)
	o.log.Info("notify: connected", "channel", id, "gen", l.gen)
	if ev.Reconnect {
		o.host.reconnected()
	}
	if ev.Gap || !ev.Reconnect {
		o.resync(l, ev.Topics)
	}
}

// dialTimedOut gives up the dial out, unless REST calls wait for the
// budget: then the dial is paced, not hung, and gets another timeout.
func (o *owner) dialTimedOut() {
	switch {
	case o.phase == phaseServing && o.ho.phase != handoverDialing:
	case o.host.paced():
		o.timer.Reset(o.dialTimeout())
	default:
		o.giveUp(errDialTimeout)
	}
}

// serves records the id of the connection that serves, or nil, for Stats
// and the trace.
func (o *owner) serves(id *string) {
	o.cfg.trace.channel(o.connID.Swap(id), id)
}

// deadline handles the phase timer: the next dial while backing off; a
// dial that takes longer than the heartbeat timeout is given up; a
// connection whose Connected could not go out in time is a fault.
func (o *owner) deadline(ctx context.Context) {
	switch o.phase {
	case phaseBackingOff:
		o.dial(ctx, o.after, nil)
	case phaseDialing, phaseServing:
		o.dialTimedOut()
	case phaseAnnouncing:
		if o.ho.phase == handoverDraining {
			o.timer.Reset(o.cfg.heartbeat) // the drain is bounded by its progress
			return
		}
		o.cur.end(fmt.Errorf("notify: connected, but the subscriptions were not in place within %v", o.cfg.heartbeat))
	}
}
