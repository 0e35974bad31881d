//go:debug randseednop=0

package notify_test

// The simulator (DESIGN.md, principle 7; issue 16, point 6) runs the
// engine unchanged against a simulated protocol (simproto_test.go) and
// server (simserver_test.go) on a fake clock, driven by a random schedule
// that is a pure function of a seed: drops, double drops, drop storms,
// stalls, lagging sockets, planned closes (also of every socket at once),
// evictions, revoked tokens, 429/503/404/401 and slow or hung requests on
// dials and changes, topics refused as a whole (400) or one by one,
// expiring channels, credentials refused for good, a consumer that falls
// behind, and Subscribe, Unsubscribe and Close from several goroutines
// with contexts that end. After every step it checks the invariants of
// DESIGN.md (simcheck_test.go); once the faults stop it checks that
// everything converges.
//
// Every seed runs in a testing/synctest bubble. After every step the
// simulator waits (synctest.Wait) until every goroutine of the engine is
// blocked, so a step's effects are complete before the checks and the
// next step: no sleeps, no polling. Time moves only by the simulator, from
// one timer of the engine or the server to the next. The engine's backoff
// jitter comes from the global source of math/rand (cenkalti/backoff), so
// the seeds run one after another, each seeding that source first (hence
// the go:debug line above). A seed then replays step for step, but for
// the rare step where two of the engine's goroutines race: a failing seed
// fails again on its first replay about 49 times in 50.
//
//	go test -run TestSim .
//		seeds 1 to 1,000, in about 20 s with -race; every go test runs them.
//	GCNOTIFY_SIM_SEEDS=100000 go test -run TestSim -timeout 0 .
//		seeds 1 to 100,000, the long run before a release; a range such as
//		GCNOTIFY_SIM_SEEDS=100001-200000 splits it over processes.
//	GCNOTIFY_SIM_SEED=N go test -run TestSim .
//		replays seed N alone, logging every step and the engine's debug
//		log; add -count=10 to replay it ten times.
//
// A failing seed prints its broken invariant, the seed's parameters and
// its last 30 steps (the first three failing seeds of a run; the others a
// line each), and the run ends with the failing seeds by invariant.
//
// Most seeds subscribe a few dozen single topics, on one channel. One in
// five also subscribes "heavy" combined topics (v2.sim.sN.hM?00&01&…,
// each 250 topics toward the per-channel limit) with WithMaxChannels(4),
// so that the set spreads over up to three channels, and grows and
// shrinks between them, without simulating thousands of topics.

import (
	"cmp"
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gcnotify/notify/internal/clock"
)

const simDefaultSeeds = 1000

func TestSim(t *testing.T) {
	seeds, replay := simSeeds(t)
	sum := &simSummary{seeds: map[string][]uint64{}}
	t.Run("seed", func(t *testing.T) {
		for _, seed := range seeds {
			t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
				//lint:ignore SA1019 the engine's backoff jitter draws from the global source
				rand.Seed(int64(seed))
				w := watchSim(seed)
				defer w.stop()
				synctest.Test(t, func(t *testing.T) { simulate(t, seed, replay, sum, w) })
			})
		}
	})
	if s := sum.String(); s != "" {
		t.Log(s)
	}
}

// simSeeds reads the seeds to run from the environment.
func simSeeds(t *testing.T) (seeds []uint64, replay bool) {
	if s := os.Getenv("GCNOTIFY_SIM_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GCNOTIFY_SIM_SEED=%q: %v", s, err)
		}
		return []uint64{seed}, true
	}
	first, last := uint64(1), uint64(simDefaultSeeds)
	if s := os.Getenv("GCNOTIFY_SIM_SEEDS"); s != "" {
		var err error
		a, b, isRange := strings.Cut(s, "-")
		if !isRange {
			a, b = "1", s
		}
		if first, err = strconv.ParseUint(a, 10, 64); err == nil {
			last, err = strconv.ParseUint(b, 10, 64)
		}
		if err != nil || first == 0 || last < first {
			t.Fatalf("GCNOTIFY_SIM_SEEDS=%q: want a count, such as 100000, or a range, such as 1001-2000", s)
		}
	}
	for seed := first; seed <= last; seed++ {
		seeds = append(seeds, seed)
	}
	return seeds, false
}

// simulate runs one seed and reports its first broken invariant.
func simulate(t *testing.T, seed uint64, replay bool, sum *simSummary, w *simWatch) {
	r := newSimRun(t, seed, replay, w)
	r.run()
	if r.fail == nil {
		return
	}
	full := sum.add(r.fail.kind, seed) <= 3 || replay
	msg := fmt.Sprintf("seed %d: %s: %s; replay with GCNOTIFY_SIM_SEED=%d go test -run TestSim .", seed, r.fail.kind, r.fail.msg, seed)
	if full {
		msg += "\n" + r.p.String() + "\nlast steps:\n" + strings.Join(w.lastSteps(), "\n")
	}
	t.Fatal(msg)
}

// simStuckAfter is how long, in real time, a step may take to settle.
// synctest.Wait cannot return while a goroutine is blocked on a
// sync.Mutex or spins; a step takes microseconds, so one that has not
// settled after this long never will.
const simStuckAfter = time.Minute

// simWatch records a seed's steps, for its failure message, and ends the
// test binary with that message if a step never settles.
type simWatch struct {
	seed  uint64
	done  chan struct{}
	mu    sync.Mutex
	steps int
	trace []string // the last steps, oldest first
	print uint64   // a hash of every step settled, to compare runs
}

// watchSim starts a watchdog for a seed, outside its bubble.
func watchSim(seed uint64) *simWatch {
	w := &simWatch{seed: seed, done: make(chan struct{})}
	go w.watch()
	return w
}

func (w *simWatch) stop() { close(w.done) }

// step records a step about to settle.
func (w *simWatch) step(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.steps++
	if len(w.trace) == simTraceLen {
		w.trace = w.trace[1:]
	}
	w.trace = append(w.trace, line+"  …")
}

// settled replaces the last step's line once it has settled.
func (w *simWatch) settled(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trace[len(w.trace)-1] = line
	for i := range len(line) {
		w.print = (w.print ^ uint64(line[i])) * 1099511628211 // FNV-1a
	}
}

func (w *simWatch) lastSteps() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.trace)
}

func (w *simWatch) watch() {
	tick := time.NewTicker(simStuckAfter)
	defer tick.Stop()
	last := -1
	for {
		select {
		case <-w.done:
			return
		case <-tick.C:
		}
		w.mu.Lock()
		steps := w.steps
		w.mu.Unlock()
		if steps == last {
			fmt.Fprintf(os.Stderr, "seed %d: stuck: a step has not settled in %v: a goroutine of the engine is blocked for good on a sync.Mutex, or spins; replay with GCNOTIFY_SIM_SEED=%d go test -run TestSim .\nlast steps:\n%s\n",
				w.seed, simStuckAfter, w.seed, strings.Join(w.lastSteps(), "\n"))
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
			os.Exit(2)
		}
		last = steps
	}
}

// simSummary gathers the failing seeds of a run by the kind of invariant
// they broke.
type simSummary struct {
	mu    sync.Mutex
	n     int
	seeds map[string][]uint64
}

// add records a failing seed and returns how many failed so far.
func (s *simSummary) add(kind string, seed uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.seeds[kind] = append(s.seeds[kind], seed)
	return s.n
}

func (s *simSummary) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d seeds failed:", s.n)
	for kind, seeds := range s.seeds {
		fmt.Fprintf(&b, "\n  %s (%d): %v", kind, len(seeds), seeds[:min(len(seeds), 20)])
	}
	return b.String()
}

// simParams is what a seed chooses besides its schedule.
type simParams struct {
	seed                   uint64
	maxChannels            int
	heavy                  bool // heavy combined topics spread the set over channels
	refusals               bool // the pools hold topics refused as a whole, and forbidden ones
	snapshots              bool
	heartbeat              time.Duration
	backoffMin, backoffMax time.Duration
	buffer                 int
	ttl, margin            time.Duration // a channel's life after a PUT, and the renewal margin
	latency                time.Duration // the most a request takes without a fault
	publishEvery           time.Duration
	actions                int
}

func newSimParams(seed uint64, rng *randv2.Rand) simParams {
	pick := func(ds ...time.Duration) time.Duration { return ds[rng.IntN(len(ds))] }
	p := simParams{seed: seed, heavy: rng.IntN(5) == 0, maxChannels: 1 + rng.IntN(4)}
	if p.heavy {
		p.maxChannels = 4
	}
	p.refusals = rng.IntN(3) == 0
	p.snapshots = rng.IntN(4) == 0
	p.heartbeat = pick(10*time.Second, 20*time.Second, 45*time.Second)
	p.backoffMin = pick(50*time.Millisecond, 200*time.Millisecond, time.Second)
	p.backoffMax = pick(2*time.Second, 5*time.Second, 30*time.Second)
	p.buffer = 1024
	if rng.IntN(6) == 0 {
		p.buffer = 2 + rng.IntN(15)
	}
	if rng.IntN(4) == 0 {
		p.ttl, p.margin = pick(90*time.Second, 3*time.Minute), 30*time.Second
	}
	p.latency = pick(0, 20*time.Millisecond, 300*time.Millisecond)
	p.publishEvery = 300*time.Millisecond + time.Duration(rng.Int64N(int64(3*time.Second)))
	p.actions = 20 + rng.IntN(41)
	return p
}

func (p simParams) String() string {
	return fmt.Sprintf("params: %d channels at most, heavy %v, refusals %v, snapshots %v, heartbeat %v, backoff %v..%v, buffer %d, ttl %v, latency %v, publish every %v, %d actions",
		p.maxChannels, p.heavy, p.refusals, p.snapshots, p.heartbeat, p.backoffMin, p.backoffMax, p.buffer, p.ttl, p.latency, p.publishEvery, p.actions)
}

// simSlots is how many goroutines call Subscribe and Unsubscribe. Each
// has its own topics, so a call's verdict can be checked against the set.
const simSlots = 3

// simPool returns the topics of a slot.
func simPool(slot int, p simParams) []string {
	var pool []string
	for j := range 6 {
		pool = append(pool, fmt.Sprintf("v2.sim.s%d.t%d", slot, j))
	}
	if p.refusals {
		pool = append(pool, fmt.Sprintf("v2.sim.s%d.bad", slot), fmt.Sprintf("v2.sim.s%d.nope", slot))
	}
	if p.heavy {
		for j := range 4 {
			pool = append(pool, simHeavy(slot, j))
		}
	}
	return pool
}

// simHeavy is a combined topic that counts 250 toward a channel's 1,000.
func simHeavy(slot, j int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v2.sim.s%d.h%d?", slot, j)
	for k := range 250 {
		if k > 0 {
			b.WriteByte('&')
		}
		if k < 36 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.FormatInt(int64(k), 36))
	}
	return b.String()
}

// simClock is a clock.Fake that knows its next deadline, so that the
// simulator can move time from one timer to the next.
type simClock struct {
	*clock.Fake
	mu    sync.Mutex
	armed map[*simTimer]time.Time
}

type simTimer struct {
	clock.Timer
	c *simClock
}

func newSimClock(start time.Time) *simClock {
	return &simClock{Fake: clock.NewFake(start), armed: map[*simTimer]time.Time{}}
}

func (c *simClock) NewTimer(d time.Duration) clock.Timer {
	t := &simTimer{c: c}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Timer = c.Fake.NewTimer(d)
	c.arm(t, d)
	return t
}

// arm records t's deadline. c.mu is held.
func (c *simClock) arm(t *simTimer, d time.Duration) {
	if d <= 0 || d > 100*365*24*time.Hour {
		delete(c.armed, t)
		return
	}
	c.armed[t] = c.Fake.Now().Add(d)
}

func (t *simTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	delete(t.c.armed, t)
	return t.Timer.Stop()
}

func (t *simTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	active := t.Timer.Reset(d)
	t.c.arm(t, d)
	return active
}

// next returns the earliest deadline after now, if a timer is armed.
func (c *simClock) next() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.Fake.Now()
	var next time.Time
	for t, at := range c.armed {
		switch {
		case !at.After(now):
			delete(c.armed, t) // fired
		case next.IsZero() || at.Before(next):
			next = at
		}
	}
	return next, !next.IsZero()
}

// simKind is a kind of action of the schedule.
type simKind int

const (
	actPublish    simKind = iota // events on a few topics
	actDrop                      // a socket dropped
	actDoubleDrop                // ... and its owner's next socket soon after
	actStorm                     // every socket dropped, 30 ms apart
	actStall                     // a socket stops delivering, even heartbeats
	actLag                       // a socket delivers late
	actClosing                   // a planned close of a socket
	actClosingAll                // ... of every socket at once
	actEvict                     // a channel is gone
	actRevoke                    // a channel's token is revoked
	actFault                     // requests fail or wait for a while
	actCall                      // Subscribe or Unsubscribe
	actCancel                    // the context of a slot's call ends
	actPause                     // the consumer stops reading for a while
	actRefuse                    // the credentials are refused for good
	actClose                     // Close
	numKinds
)

var simKindNames = [numKinds]string{"publish", "drop", "double drop", "drop storm", "stall", "lag", "planned close",
	"planned close of all", "evict", "revoke", "fault", "call", "cancel", "pause", "refuse credentials", "close"}

// simAction is a step of the schedule. Targets are picked at the step by
// index, modulo what exists then.
type simAction struct {
	at    time.Duration // since the start
	kind  simKind
	k     int
	d     time.Duration
	fault simFault // actFault; proto 0 stays all, any other is picked by k
	slot  int
	unsub bool  // actCall: Unsubscribe
	ended bool  // actCall: the context has ended before the call
	pick  []int // actCall: indexes into the slot's pool
}

// simKindWeights are how often each kind is drawn; actRefuse and
// actClose are drawn per seed instead.
var simKindWeights = [numKinds]int{
	actPublish: 6, actDrop: 8, actDoubleDrop: 5, actStorm: 2, actStall: 3, actLag: 2, actClosing: 4, actClosingAll: 2,
	actEvict: 3, actRevoke: 2, actFault: 14, actCall: 25, actPause: 2,
}

// simSchedule draws the schedule of a seed.
func simSchedule(rng *randv2.Rand, p simParams) []simAction {
	var acts []simAction
	var at time.Duration
	total := 0
	for _, w := range simKindWeights {
		total += w
	}
	for range p.actions {
		at += simGap(rng)
		a := simAction{at: at, k: rng.IntN(1 << 20)}
		for w := rng.IntN(total); ; a.kind++ {
			if w -= simKindWeights[a.kind]; w < 0 {
				break
			}
		}
		simDraw(rng, p, &a)
		acts = append(acts, a)
		if a.kind == actCall && !a.ended {
			acts = append(acts, simAction{at: at + time.Duration(rng.Int64N(int64(20*time.Second))), kind: actCancel, slot: a.slot})
		}
	}
	switch rng.IntN(25) {
	case 0:
		acts = append(acts, simAction{at: time.Duration(rng.Int64N(int64(at + 1))), kind: actRefuse})
	case 1:
		// Right after a call, which is then often under way.
		close := simAction{at: time.Duration(rng.Int64N(int64(at + 1))), kind: actClose, k: rng.IntN(2)}
		if calls := slices.DeleteFunc(slices.Clone(acts), func(a simAction) bool { return a.kind != actCall }); len(calls) > 0 {
			close.at = calls[rng.IntN(len(calls))].at + time.Millisecond
		}
		acts = append(acts, close)
	}
	slices.SortStableFunc(acts, func(a, b simAction) int { return cmp.Compare(a.at, b.at) })
	return acts
}

// simGap is the time between two actions: often short, so that faults
// meet a recovery under way.
func simGap(rng *randv2.Rand) time.Duration {
	switch n := rng.IntN(100); {
	case n < 40:
		return time.Millisecond + time.Duration(rng.Int64N(int64(100*time.Millisecond)))
	case n < 85:
		return 100*time.Millisecond + time.Duration(rng.Int64N(int64(5*time.Second)))
	default:
		return 5*time.Second + time.Duration(rng.Int64N(int64(25*time.Second)))
	}
}

// simDraw draws the details of an action.
func simDraw(rng *randv2.Rand, p simParams, a *simAction) {
	dur := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo))) }
	switch a.kind {
	case actDoubleDrop:
		a.d = dur(10*time.Millisecond, 2*time.Second)
	case actLag:
		a.d = dur(50*time.Millisecond, 5*time.Second)
	case actClosing, actClosingAll:
		a.d = dur(time.Second, time.Minute)
	case actPause:
		a.d = dur(time.Second, 20*time.Second)
	case actFault:
		a.fault = simDrawFault(rng)
		a.d = dur(200*time.Millisecond, 40*time.Second)
	case actCall:
		a.slot = rng.IntN(simSlots)
		a.unsub = rng.IntN(5) < 2
		a.ended = rng.IntN(20) == 0
		pool := len(simPool(a.slot, p))
		for range 1 + rng.IntN(4) {
			a.pick = append(a.pick, rng.IntN(pool))
		}
	}
}

// simOpSets are the sets of requests a fault hits.
var simOpSets = [][]simOp{
	{opPut, opPost}, {opCreate, opConnect}, {opPut}, {opCreate}, {opConnect},
	{opCreate, opConnect, opPut, opPost}, {opRead},
}

// simEffectWeights are how often each effect is drawn.
var simEffectWeights = [numEffects]int{effSlow: 25, effHang: 10, eff429: 15, eff5xx: 25, eff404: 10, eff401: 10}

func simDrawFault(rng *randv2.Rand) simFault {
	var f simFault
	if rng.IntN(10) >= 3 {
		f.proto = 1 // an owner, picked when the fault starts
	}
	for _, op := range simOpSets[rng.IntN(len(simOpSets))] {
		f.ops[op] = true
	}
	total := 0
	for _, w := range simEffectWeights {
		total += w
	}
	w := rng.IntN(total)
	for ; ; f.eff++ {
		if w -= simEffectWeights[f.eff]; w < 0 {
			break
		}
	}
	switch f.eff {
	case effSlow:
		f.d = 100*time.Millisecond + time.Duration(rng.Int64N(int64(10*time.Second)))
	case eff429:
		f.d = 500*time.Millisecond + time.Duration(rng.Int64N(int64(20*time.Second)))
	}
	return f
}
