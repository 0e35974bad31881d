package notify_test

// The driver of the simulator (sim_test.go): it plays a seed's schedule
// against the engine step by step, letting the engine settle after each
// step and checking the invariants (simcheck_test.go).

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
)

// Bounds of the simulation, in simulated time.
const (
	simQuietBound  = 10 * time.Minute // for everything to converge once the faults stop
	simProbeBound  = 15 * time.Second // for the last events to arrive, on a lagging socket too
	simMaxRetryAt  = 20 * time.Second // the longest Retry-After the faults send
	simStormStride = 30 * time.Millisecond
	simTraceLen    = 30
)

// simRun is one seed's run.
type simRun struct {
	t      *testing.T
	p      simParams
	replay bool
	clk    *simClock
	srv    *simServer
	c      *notify.Client
	pubRng *rand.Rand
	acts   []simAction
	start  time.Time
	pools  [simSlots][]string
	slots  [simSlots]simSlot
	stream *simStream

	follows    []simFollow // drops that follow a drop
	pubAt      time.Time   // the next publication
	quietPub   bool        // the publisher is paused
	pauseUntil time.Time   // the consumer reads nothing before
	set        map[string]bool
	runDone    chan error
	ran        bool // Run has returned runErr
	runErr     error
	closes     []*simClose // the Close calls
	refusedAt  time.Time   // when the credentials were refused for good

	watch *simWatch
	fail  *simViolation
}

// simSlot is a goroutine that calls Subscribe and Unsubscribe on its own
// topics, one call at a time.
type simSlot struct {
	call     *simCall
	believed map[string]bool // its topics that the verdicts put in the set
}

type simCall struct {
	unsub, ended bool // Unsubscribe; its context had ended before the call
	topics       []string
	before       map[string]bool // which of them were in the set before the call
	cancel       context.CancelFunc
	cancelled    time.Time // when its context was cancelled; zero if not
	done         chan error
}

func (c *simCall) String() string {
	verb := "Subscribe"
	if c.unsub {
		verb = "Unsubscribe"
	}
	return fmt.Sprintf("%s(%s)", verb, simList(c.topics))
}

// simClose is a call of Close.
type simClose struct {
	done     chan error
	returned bool
}

// simFollow is a drop of an owner's socket that follows an earlier drop.
type simFollow struct {
	at    time.Time
	proto int
}

func newSimRun(t *testing.T, seed uint64, replay bool, w *simWatch) *simRun {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	p := newSimParams(seed, rng)
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	clk := newSimClock(start)
	r := &simRun{
		t: t, p: p, replay: replay, clk: clk, start: start, watch: w,
		srv:    newSimServer(clk, seed, p.maxChannels, p.ttl, p.heartbeat/3, p.latency),
		pubRng: rand.New(rand.NewPCG(seed, 0xe7e7)),
		acts:   simSchedule(rng, p),
		pubAt:  start.Add(p.publishEvery),
	}
	var all []string
	for i := range r.pools {
		r.pools[i] = simPool(i, p)
		r.slots[i].believed = map[string]bool{}
		all = append(all, r.pools[i]...)
	}
	r.stream = newSimStream(r.srv, r.rejected, all)
	return r
}

// run plays the schedule, lets everything converge, probes the stream
// and closes the client.
func (r *simRun) run() {
	defer r.teardown()
	r.begin()
	for _, a := range r.acts {
		r.until(r.start.Add(a.at), nil)
		if !r.going() {
			break
		}
		r.apply(a)
	}
	r.quiet()
	if r.going() {
		r.probe()
	}
	if r.fail == nil && len(r.closes) == 0 {
		r.close(false)
	}
}

// going reports whether the run goes on: nothing broke, Run runs and
// Close was not called.
func (r *simRun) going() bool { return r.fail == nil && !r.ran && len(r.closes) == 0 }

// begin makes the client, subscribes the first topics and starts Run.
func (r *simRun) begin() {
	opts := []notify.Option{
		notify.WithClock(r.clk),
		notify.WithProtocol(simProtocol(r.srv, r.p.margin)),
		notify.WithHeartbeatTimeout(r.p.heartbeat),
		notify.WithBackoff(r.p.backoffMin, r.p.backoffMax),
		notify.WithMaxChannels(r.p.maxChannels),
		notify.WithEventBuffer(r.p.buffer),
	}
	if r.p.snapshots {
		opts = append(opts, notify.WithSnapshots())
	}
	if r.p.ttl > 0 {
		opts = append(opts, notify.WithChannelRenewal(r.p.margin))
	}
	if r.replay {
		h := slog.NewTextHandler(simLogWriter{r.t}, &slog.HandlerOptions{Level: slog.LevelDebug})
		opts = append(opts, notify.WithLogger(slog.New(h)))
	}
	c, err := notify.New(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "sim"}), opts...)
	if err != nil {
		r.t.Fatal(err)
	}
	r.c = c
	first := r.pools[0][:3]
	if r.p.heavy {
		first = slices.Concat(first, simHeavyOf(r.pools[0]), simHeavyOf(r.pools[1])[:1])
	}
	if err := c.Subscribe(context.Background(), first...); err != nil {
		r.t.Fatalf("Subscribe before Run = %v", err)
	}
	for _, t := range first {
		r.slots[simSlotOf(t)].believed[t] = true
	}
	r.runDone = make(chan error, 1)
	go func() { r.runDone <- c.Run(context.Background()) }()
	r.step("start with %d topics", len(first))
}

func simHeavyOf(pool []string) []string {
	return slices.DeleteFunc(slices.Clone(pool), func(t string) bool { return !strings.Contains(t, "?") })
}

// simSlotOf is the slot whose pool holds t ("v2.sim.sN.…").
func simSlotOf(t string) int { return int(t[len("v2.sim.s")] - '0') }

// step lets the engine settle after a step, checks the invariants and
// records the step.
func (r *simRun) step(format string, args ...any) {
	line := fmt.Sprintf("%9.3fs  %s", r.clk.Now().Sub(r.start).Seconds(), fmt.Sprintf(format, args...))
	r.watch.step(line)
	r.settle()
	r.check()
	line += "  | " + r.srv.describe()
	if r.replay {
		r.t.Log(line)
	}
	r.watch.settled(line)
}

// settle waits until every goroutine of the engine is blocked, reading
// the events it delivers meanwhile, as a consumer would.
func (r *simRun) settle() {
	for {
		synctest.Wait()
		if !r.consume() {
			return
		}
	}
}

// consume reads the events waiting in Events() and reports whether there
// were any.
func (r *simRun) consume() bool {
	if r.clk.Now().Before(r.pauseUntil) || r.stream.closed {
		return false
	}
	read := false
	for {
		select {
		case ev, ok := <-r.c.Events():
			if !ok {
				r.stream.closed = true
				return read
			}
			r.stream.take(ev)
			read = true
		default:
			return read
		}
	}
}

// until moves time to target, from one thing due to the next, a step
// each, and stops early once done reports true.
func (r *simRun) until(target time.Time, done func() bool) {
	for r.going() && (done == nil || !done()) {
		at := r.nextAt(target)
		if at.After(r.clk.Now()) {
			r.clk.Set(at)
		}
		r.due()
		if !at.Before(target) {
			return
		}
	}
}

// nextAt is the next time something is due, or target.
func (r *simRun) nextAt(target time.Time) time.Time {
	at := target
	earlier := func(t time.Time) {
		if !t.IsZero() && t.Before(at) {
			at = t
		}
	}
	if t, ok := r.clk.next(); ok {
		earlier(t)
	}
	earlier(r.srv.nextTick())
	for _, f := range r.follows {
		earlier(f.at)
	}
	if !r.quietPub {
		earlier(r.pubAt)
	}
	if r.pauseUntil.After(r.clk.Now()) {
		earlier(r.pauseUntil)
	}
	return at
}

// due does what is due now: the server's heartbeats and planned closes,
// drops that follow drops, publications; and lets the timers that fired
// run.
func (r *simRun) due() {
	now := r.clk.Now()
	did := false
	if t := r.srv.nextTick(); !t.IsZero() && !t.After(now) {
		r.srv.tick()
		r.step("server: heartbeats, planned closes, expiries")
		did = true
	}
	for i := 0; i < len(r.follows); i++ {
		if f := r.follows[i]; !f.at.After(now) {
			r.follows = slices.Delete(r.follows, i, i+1)
			i--
			r.step("drop again: %s", r.srv.dropOwner(f.proto))
			did = true
		}
	}
	if !r.quietPub && !r.pubAt.After(now) {
		r.pubAt = r.pubAt.Add(r.p.publishEvery)
		ts := r.pubPick()
		r.srv.publish(ts...)
		r.step("publish on %d topics", len(ts))
		did = true
	}
	if !did {
		r.step("timers")
	}
}

// pubPick picks the topics of a publication: about a third of all.
func (r *simRun) pubPick() []string {
	var ts []string
	for _, pool := range r.pools {
		for _, t := range pool {
			if r.pubRng.IntN(3) == 0 {
				ts = append(ts, t)
			}
		}
	}
	return ts
}

// apply carries out an action of the schedule.
func (r *simRun) apply(a simAction) {
	now := r.clk.Now()
	switch a.kind {
	case actPublish:
		ts := r.pubPick()
		r.srv.publish(ts...)
		r.step("publish on %d topics", len(ts))
	case actStorm:
		for i, num := range r.srv.ownersWithSockets() {
			r.follows = append(r.follows, simFollow{now.Add(time.Duration(i) * simStormStride), num})
		}
		r.step("drop storm begins")
	case actClosingAll:
		r.step("planned close of every socket in %v: %s", a.d, r.srv.warnAll(now.Add(a.d)))
	case actFault:
		r.fault(a)
	case actCall:
		r.call(a)
	case actCancel:
		r.cancel(a.slot)
	case actPause:
		r.pauseUntil = now.Add(a.d)
		r.step("the consumer stops reading for %v", a.d)
	case actRefuse:
		r.refusedAt = now
		r.srv.refuseCredentials()
		r.step("credentials refused for good; every token revoked")
	case actClose:
		r.close(a.k%2 == 0)
	default:
		r.socketFault(a)
	}
}

// socketFault does to one socket what a does.
func (r *simRun) socketFault(a simAction) {
	conns := r.srv.openConns()
	name := simKindNames[a.kind]
	if len(conns) == 0 {
		r.step("%s: no socket open", name)
		return
	}
	c := conns[a.k%len(conns)]
	now := r.clk.Now()
	switch a.kind {
	case actDrop:
		r.srv.end(c, endDrop)
	case actDoubleDrop:
		r.srv.end(c, endDrop)
		r.follows = append(r.follows, simFollow{now.Add(a.d), c.proto})
	case actStall:
		r.srv.stall(c)
	case actLag:
		r.srv.setLag(c, a.d)
	case actClosing:
		r.srv.warn(c, now.Add(a.d))
	case actEvict:
		r.srv.evict(c)
	case actRevoke:
		r.srv.end(c, endRevoke)
	}
	r.step("%s %v (owner %d) %v", name, c, c.proto, a.d)
}

// fault starts a fault of requests.
func (r *simRun) fault(a simAction) {
	f := a.fault
	if f.proto != 0 {
		nums := r.srv.protoNums()
		f.proto = nums[a.k%len(nums)]
	}
	f.until = r.clk.Now().Add(a.d)
	r.srv.addFault(f)
	var ops []string
	for op, on := range f.ops {
		if on {
			ops = append(ops, simOpNames[op])
		}
	}
	who := "every owner"
	if f.proto != 0 {
		who = fmt.Sprintf("owner %d", f.proto)
	}
	r.step("fault: %s %v on %s of %s for %v", simEffectNames[f.eff], f.d, strings.Join(ops, "+"), who, a.d)
}

// call starts a Subscribe or Unsubscribe on a slot's goroutine, unless
// the slot's last call is still under way.
func (r *simRun) call(a simAction) {
	s := &r.slots[a.slot]
	if s.call != nil {
		return
	}
	call := &simCall{unsub: a.unsub, ended: a.ended, before: map[string]bool{}, done: make(chan error, 1)}
	for _, i := range a.pick {
		if t := r.pools[a.slot][i]; !slices.Contains(call.topics, t) {
			call.topics = append(call.topics, t)
		}
	}
	set := simSet(r.c.Topics())
	for _, t := range call.topics {
		call.before[t] = set[t]
	}
	ctx, cancel := context.WithCancel(context.Background())
	call.cancel = cancel
	if a.ended {
		cancel()
		call.cancelled = r.clk.Now()
	}
	s.call = call
	go func() {
		if call.unsub {
			call.done <- r.c.Unsubscribe(ctx, call.topics...)
		} else {
			call.done <- r.c.Subscribe(ctx, call.topics...)
		}
	}()
	r.step("slot %d: %v, context ended before: %v", a.slot, call, a.ended)
}

// cancel ends the context of a slot's call under way.
func (r *simRun) cancel(slot int) {
	call := r.slots[slot].call
	if call == nil || !call.cancelled.IsZero() {
		return
	}
	call.cancel()
	call.cancelled = r.clk.Now()
	r.step("slot %d: the context of %v ends", slot, call)
}

// close calls Close from two goroutines; with cancel, as a service that
// shuts down does, the context of every call under way ends in the same
// step.
func (r *simRun) close(cancel bool) {
	for _, s := range r.slots {
		if cancel && s.call != nil && s.call.cancelled.IsZero() {
			s.call.cancel()
			s.call.cancelled = r.clk.Now()
		}
	}
	for range 2 {
		cl := &simClose{done: make(chan error, 1)}
		r.closes = append(r.closes, cl)
		go func() { cl.done <- r.c.Close() }()
	}
	r.step("Close, twice at once; the calls' contexts end too: %v", cancel)
}

// quiet stops the faults, ends the calls' contexts and waits until
// everything converges.
func (r *simRun) quiet() {
	if !r.going() {
		return
	}
	for i := range r.slots {
		r.cancel(i)
	}
	r.srv.clearFaults()
	r.follows, r.pauseUntil = nil, time.Time{}
	r.step("the faults stop")
	deadline := r.clk.Now().Add(simQuietBound)
	r.until(deadline, func() bool { return r.unconverged() == "" })
	if why := r.unconverged(); r.going() && why != "" {
		r.failf("converge", "%v after the faults stopped: %s", simQuietBound, why)
	}
}

// probe publishes an event on every topic of the set and waits for it,
// one topic at a time with the publisher paused, so that even a small
// buffer drops none.
func (r *simRun) probe() {
	r.quietPub = true
	for _, t := range slices.Sorted(maps.Keys(r.set)) {
		r.srv.publish(t)
		n := r.srv.lastEvent(t)
		r.step("probe %s#%d", simShort(t), n)
		r.until(r.clk.Now().Add(simProbeBound), func() bool { return r.stream.last[t] >= n })
		if r.going() && r.stream.last[t] < n {
			r.failf("probe", "event %s#%d, the last of a topic of the set, never came, %v after it was sent", simShort(t), n, simProbeBound)
		}
	}
	for _, v := range r.stream.final() {
		r.failWith(v)
	}
}

// teardown ends whatever still runs, so the bubble can end.
func (r *simRun) teardown() {
	for _, s := range r.slots {
		if s.call != nil {
			s.call.cancel()
		}
	}
	r.settle()
	if r.c != nil && len(r.closes) == 0 {
		go r.c.Close()
	}
	r.srv.shutdown()
	r.settle()
}

func (r *simRun) failf(kind, format string, args ...any) {
	r.failWith(simViolation{kind, fmt.Sprintf(format, args...)})
}

// failWith records the first broken invariant of the run.
func (r *simRun) failWith(v simViolation) {
	if r.fail == nil {
		r.fail = &v
	}
}

// simSet makes a set of ts.
func simSet(ts []string) map[string]bool {
	s := make(map[string]bool, len(ts))
	for _, t := range ts {
		s[t] = true
	}
	return s
}

// simLogWriter writes the engine's log to the test's.
type simLogWriter struct{ t *testing.T }

func (w simLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
