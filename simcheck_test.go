package notify_test

// The invariants of DESIGN.md, as the simulator (sim_test.go) checks them
// after every step:
//
//   - every event the server sent on a socket while its channel held the
//     topic is delivered once, in order per topic, unless a gap that
//     covers the topic was reported before the next one (a Connected with
//     Gap listing it, or a Dropped): simStream;
//   - a live channel's topics never leave the server because of another
//     topic's change: simServer.checkNarrowing;
//   - no socket waits silently: one whose Connected has not come within
//     two heartbeat timeouts of its dial is a silent outage, and so is an
//     owner with topics but no socket and no dial for longer than its
//     longest backoff ("dark", "idle");
//   - every Subscribe and Unsubscribe returns as soon as its context ends,
//     and its verdict matches Topics(); Topics() changes only by verdicts
//     and Rejected events;
//   - once the faults stop, within simQuietBound, every channel is
//     connected, the server holds exactly Topics(), each topic on one
//     channel, and an event on each topic arrives;
//   - Run ends only by Close, or with ErrUnauthorized once the credentials
//     are refused for good; Close returns at once, and nothing of the
//     engine outlives it (synctest.Test fails if a goroutine is left).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gcnotify/notify"
)

// simStream checks the events stream as a consumer reads it.
type simStream struct {
	srv      *simServer
	onReject func(topic string)
	all      []string        // every topic the simulation uses
	last     map[string]int  // topic -> the number of its last event delivered
	gap      map[string]bool // topic -> a gap covering it was reported since
	drops    int             // Dropped events so far
	dropsAt  map[string]int  // topic -> drops at its last event delivered
	closed   bool            // Events() is closed
	found    []simViolation
}

func newSimStream(srv *simServer, onReject func(string), all []string) *simStream {
	return &simStream{srv: srv, onReject: onReject, all: all, last: map[string]int{}, gap: map[string]bool{}, dropsAt: map[string]int{}}
}

// take checks an event of the stream.
func (st *simStream) take(ev notify.Event) {
	switch ev := ev.(type) {
	case notify.Notification:
		st.note(ev)
	case notify.Connected:
		if ev.Gap {
			for _, t := range ev.Topics {
				st.gap[t] = true
			}
		}
		st.srv.announce(ev.ChannelID)
	case notify.Dropped:
		st.drops++
	case notify.Rejected:
		st.onReject(ev.Topic)
	}
}

// covered reports whether a gap covering t was reported since its last
// event.
func (st *simStream) covered(t string) bool { return st.gap[t] || st.dropsAt[t] < st.drops }

func (st *simStream) note(n notify.Notification) {
	t := n.Topic
	seq, err := strconv.Atoi(n.CorrelationID)
	prev := st.last[t]
	switch {
	case err != nil:
		st.found = append(st.found, simViolation{"corrupt", fmt.Sprintf("a notification of %s has CorrelationID %q", simShort(t), n.CorrelationID)})
	case seq == prev:
		st.found = append(st.found, simViolation{"duplicate", fmt.Sprintf("event %s#%d was delivered twice", simShort(t), seq)})
	case seq < prev:
		st.found = append(st.found, simViolation{"order", fmt.Sprintf("event %s#%d was delivered after %s#%d", simShort(t), seq, simShort(t), prev)})
	default:
		if lost := st.srv.sentBetween(t, prev, seq); len(lost) > 0 && !st.covered(t) {
			st.found = append(st.found, st.lost(t, lost, seq))
		}
		st.last[t] = seq
	}
	st.gap[t] = false
	st.dropsAt[t] = st.drops
}

// lost describes events of t not delivered before seq: still in flight
// on a socket, they come out of order; else they are lost.
func (st *simStream) lost(t string, lost []int, seq int) simViolation {
	if st.srv.inFlight(t, lost) {
		return simViolation{"order", fmt.Sprintf(
			"event %s#%d was delivered while #%v, sent earlier on another socket, are still on their way", simShort(t), seq, lost)}
	}
	return simViolation{"lost", fmt.Sprintf(
		"events %s#%v were sent on a socket and never delivered, and #%d came next with no gap reported", simShort(t), lost, seq)}
}

// unwanted marks the topics outside the set: no event of theirs is owed.
func (st *simStream) unwanted(set map[string]bool) {
	for _, t := range st.all {
		if !set[t] {
			st.gap[t] = true
		}
	}
}

// final checks that every event sent was delivered or covered by a gap.
func (st *simStream) final() []simViolation {
	var found []simViolation
	for _, t := range st.all {
		if lost := st.srv.sentBetween(t, st.last[t], 1<<62); len(lost) > 0 && !st.covered(t) {
			found = append(found, simViolation{"lost", fmt.Sprintf(
				"events %s#%v were sent on a socket and never delivered, and no gap was reported", simShort(t), lost)})
		}
	}
	return found
}

func (st *simStream) takeFound() []simViolation {
	found := st.found
	st.found = nil
	return found
}

// rejected records that the server refused a topic: it leaves the set.
// A Rejected that a stalled consumer reads late may be older than a
// verdict that put its topic back: it takes out only a topic out of the set.
func (r *simRun) rejected(t string) {
	if !slices.Contains(r.c.Topics(), t) {
		delete(r.slots[simSlotOf(t)].believed, t)
	}
}

// check checks the invariants after a step.
func (r *simRun) check() {
	for _, v := range r.srv.takeFound() {
		r.failWith(v)
	}
	for _, v := range r.stream.takeFound() {
		r.failWith(v)
	}
	r.checkRun()
	r.set = simSet(r.c.Topics())
	r.stream.unwanted(r.set)
	r.checkCalls()
	if r.going() {
		if !r.clk.Now().Before(r.pauseUntil) {
			r.checkBelieved() // after the Rejected events that may explain a change
		}
		r.checkSilence()
	}
}

// Bounds of the liveness checks. A dial may take twice the heartbeat
// timeout before it is given up, and its Connected one more before the
// connection is.
func (r *simRun) darkBound() time.Duration { return 3 * r.p.heartbeat }
func (r *simRun) idleBound() time.Duration {
	return r.p.backoffMax + simMaxRetryAt + simRESTTimeout + 2*r.p.latency
}

// checkRun checks how Run and Close ended, if they did.
func (r *simRun) checkRun() {
	if !r.ran {
		select {
		case r.runErr = <-r.runDone:
			r.ran = true
		default:
		}
	}
	for _, cl := range r.closes {
		if !cl.returned {
			select {
			case <-cl.done:
				cl.returned = true
			default:
				r.failf("close", "Close did not return at once")
			}
		}
	}
	switch {
	case !r.ran:
		if len(r.closes) > 0 {
			r.failf("close", "Run did not return after Close")
		}
		// A dial hung when the refusal came, and the next one, which
		// reuses its channel and needs no token before its subscription
		// request, may each take a REST timeout before a token is asked.
		if at := r.refusedAt; !at.IsZero() && r.clk.Now().Sub(at) > r.idleBound()+simRESTTimeout {
			r.failf("run-not-ended", "Run still runs %v after the credentials were refused for good", r.clk.Now().Sub(at))
		}
	case len(r.closes) > 0:
	case r.refusedAt.IsZero():
		r.failf("run-ended", "Run returned %v with no permanent fault", r.runErr)
	case !errors.Is(r.runErr, notify.ErrUnauthorized):
		r.failf("run-ended", "after the credentials were refused for good Run returned %v, not an error matching ErrUnauthorized", r.runErr)
	}
}

// checkCalls checks the calls that returned, and that every call whose
// context ended has returned.
func (r *simRun) checkCalls() {
	for i := range r.slots {
		call := r.slots[i].call
		if call == nil {
			continue
		}
		select {
		case err := <-call.done:
			r.slots[i].call = nil
			r.verdict(i, call, err)
		default:
			switch {
			case !call.cancelled.IsZero():
				r.failf("ctx-ignored", "%v is still blocked %v after its context ended", call, r.clk.Now().Sub(call.cancelled))
			case r.ran || len(r.closes) > 0:
				r.failf("call-stuck", "%v is still blocked after Run returned", call)
			}
		}
	}
}

// verdict checks a call's verdict against the set, and records what the
// slot now has in it.
func (r *simRun) verdict(slot int, call *simCall, err error) {
	bad := func(format string, args ...any) {
		r.failf("verdict", "%v returned %v, but %s", call, err, fmt.Sprintf(format, args...))
	}
	for _, t := range call.topics {
		in, refusable := r.set[t], simRefusedWhole(t) || simForbidden(t)
		switch {
		case errors.Is(err, notify.ErrClosed), errors.Is(err, notify.ErrUnauthorized):
		case call.ended && (!errors.Is(err, context.Canceled) || in != call.before[t]):
			bad("its context had ended before the call, so it must change nothing (%s in the set: %v, before: %v)", simShort(t), in, call.before[t])
		case err == nil && call.unsub && in:
			bad("%s is still in Topics()", simShort(t))
		case err == nil && !call.unsub && !in && !refusable:
			bad("%s is not in Topics()", simShort(t))
		case errors.Is(err, notify.ErrRejected) && !refusable && !in:
			bad("%s, which the server accepts, is not in Topics()", simShort(t))
		case errors.Is(err, notify.ErrTooManyTopics) && in != call.before[t]:
			bad("%s changed (in the set: %v)", simShort(t), in)
		case err != nil && !call.unsub && !errors.Is(err, notify.ErrRejected) && in && !call.before[t]:
			bad("%s, which it added, is still in Topics()", simShort(t))
		}
	}
	if err != nil && call.unsub {
		var back, gone []string
		for _, t := range call.topics {
			if call.before[t] && r.set[t] {
				back = append(back, t)
			} else if call.before[t] {
				gone = append(gone, t)
			}
		}
		if len(back) > 0 && len(gone) > 0 {
			bad("only some of its topics are back in Topics(): %s, not %s", simList(back), simList(gone))
		}
	}
	for _, t := range call.topics {
		if r.set[t] {
			r.slots[slot].believed[t] = true
		} else {
			delete(r.slots[slot].believed, t)
		}
	}
}

// checkBelieved checks that Topics() changes only by verdicts and
// Rejected events.
func (r *simRun) checkBelieved() {
	for i, s := range r.slots {
		for _, t := range r.pools[i] {
			switch {
			case s.call != nil && slices.Contains(s.call.topics, t):
			case s.believed[t] && !r.set[t]:
				r.failf("set", "%s left Topics() by itself: a verdict put it there and no Rejected event took it out", simShort(t))
			case !s.believed[t] && r.set[t]:
				r.failf("set", "%s is in Topics() although no verdict left it there", simShort(t))
			}
		}
	}
}

// checkSilence checks that no socket and no owner waits silently.
func (r *simRun) checkSilence() {
	// A channel in Stats has its Connected out, even if a stalled
	// consumer has not read it yet.
	if dark := r.srv.dark(r.darkBound(), r.c.Stats().Channels); len(dark) > 0 {
		r.failf("dark", "no Connected and no report for more than %v: %s; Stats().State is %s",
			r.darkBound(), strings.Join(dark, "; "), r.c.Stats().State)
	}
	for _, num := range notify.SimOwners(r.c) {
		if d, n := r.srv.idleFor(num); n > 0 && d > r.idleBound() {
			r.failf("idle", "owner %d has had no socket for %v, and no dial or one that long, with %d topics to subscribe; Stats().State is %s",
				num, d, n, r.c.Stats().State)
		}
	}
}

// unconverged says why the client and the server do not agree yet, or "".
func (r *simRun) unconverged() string {
	st := r.c.Stats()
	if st.State != notify.StateConnected {
		return fmt.Sprintf("Stats().State is %s, with %d channels connected", st.State, len(st.Channels))
	}
	for _, s := range r.slots {
		if s.call != nil {
			return fmt.Sprintf("%v is under way", s.call)
		}
	}
	return r.srv.converged(r.set, len(st.Channels))
}

// Queries of the server for the checks.

// announce records that the Connected of the last socket Dial returned on
// channel id is in the stream.
func (s *simServer) announce(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range slices.Backward(s.conns) {
		if c.sess.id == id && !c.handed.IsZero() {
			c.announced = true
			return
		}
	}
}

// sentBetween returns the numbers of the events of t sent on a socket,
// between lo and hi.
func (s *simServer) sentBetween(t string, lo, hi int) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ns []int
	for _, n := range s.sent[t] {
		if n > lo && n < hi {
			ns = append(ns, n)
		}
	}
	return ns
}

// inFlight reports whether the events of t numbered ns are all still
// queued on some socket, to be read.
func (s *simServer) inFlight(t string, ns []int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := map[int]bool{}
	for _, c := range s.conns {
		for _, f := range c.frames {
			if f.kind == frameEvent && f.topic == t {
				queued[f.seq] = true
			}
		}
	}
	for _, n := range ns {
		if !queued[n] {
			return false
		}
	}
	return true
}

// dark describes the sockets open on the server for longer than bound
// whose Connected has not come, of owners with no other socket that
// delivers (as the old one of a handover does): those Dial returned, and
// those of a dial still under way, on a channel that may well hold its
// whole set already. The channels of out, whose Connected is out, are
// not dark.
func (s *simServer) dark(bound time.Duration, out []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	serving := map[int]bool{}
	for _, c := range s.conns {
		if c.open() && c.announced {
			serving[c.proto] = true
		}
	}
	var dark []string
	for _, c := range s.conns {
		if !c.open() || c.announced || serving[c.proto] || now.Sub(c.opened) <= bound || slices.Contains(out, c.sess.id) && !c.handed.IsZero() {
			continue
		}
		state := "Dial returned it"
		if c.handed.IsZero() {
			state = "its dial is still under way"
		}
		dark = append(dark, fmt.Sprintf("socket %v of owner %d, open for %v (%s), %d topics subscribed on its channel, %d events read and held, %d waiting",
			c, c.proto, now.Sub(c.opened), state, len(c.sess.topics), c.read, len(c.frames)))
	}
	return dark
}

// idleFor returns how long owner num has had no socket Dial returned,
// and how many topics it last asked for.
func (s *simServer) idleFor(num int) (time.Duration, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.protos[num]
	switch {
	case p == nil:
		return 0, 0
	case !p.idle.IsZero():
		return s.clk.Now().Sub(p.idle), len(p.set)
	case p.dials > 0 && !s.hasSocket(num):
		return s.clk.Now().Sub(p.dialed), len(p.set)
	}
	return 0, 0
}

// hasSocket reports whether owner num has a socket open. s.mu is held.
func (s *simServer) hasSocket(num int) bool {
	return slices.ContainsFunc(s.conns, func(c *simConn) bool { return c.proto == num && c.open() })
}

// converged says how the server differs from a client whose set is set
// and whose channels are all connected, or "".
func (s *simServer) converged(set map[string]bool, channels int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := map[string]int{}
	open := 0
	for _, c := range s.conns {
		switch {
		case !c.open():
			continue
		case c.handed.IsZero():
			return fmt.Sprintf("a dial is under way on %v", c)
		case !c.announced:
			return fmt.Sprintf("%v has no Connected", c)
		case c.stalled:
			return fmt.Sprintf("%v is stalled", c)
		case !c.closeAt.IsZero():
			return fmt.Sprintf("%v is about to be closed by the server", c)
		}
		open++
		for t := range c.sess.topics {
			held[t]++
		}
	}
	for _, t := range slices.Sorted(maps.Keys(set)) {
		if held[t] != 1 {
			return fmt.Sprintf("%s is held on %d channels", simShort(t), held[t])
		}
	}
	for _, t := range slices.Sorted(maps.Keys(held)) {
		if !set[t] {
			return fmt.Sprintf("the server holds %s, which is not in Topics()", simShort(t))
		}
	}
	if open != channels {
		return fmt.Sprintf("%d sockets are open for %d connected channels", open, channels)
	}
	return ""
}
