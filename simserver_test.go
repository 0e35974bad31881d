package notify_test

// The simulated server of the simulator (sim_test.go): channels ("sessions")
// with their subscribed topic sets, the connections on them, a publisher
// that numbers the events of each topic, the faults that the schedule
// injects, and the log of what it sent on which connection. It knows
// nothing of package wire: simproto_test.go adapts it to the engine.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gcnotify/notify/internal/clock"
)

// simRESTTimeout bounds every simulated request, as the real protocols
// bound theirs: a hung request ends with a timeout after it.
const simRESTTimeout = 30 * time.Second

// simOp is a kind of request to the simulated server.
type simOp int

const (
	opCreate  simOp = iota // create a channel
	opConnect              // open a socket on a channel
	opPut                  // replace a channel's subscriptions
	opPost                 // add to a channel's subscriptions
	opRead                 // read the state of topics
	numOps
)

var simOpNames = [numOps]string{"create", "connect", "put", "post", "read"}

// simStatus is how the server answered a request.
type simStatus int

const (
	stOK           simStatus = iota
	stBadRequest             // 400: the request names a topic refused as a whole
	stUnauthorized           // 401: the token was refused; fetch a new one
	stGone                   // 404: the channel does not exist
	stTooMany                // 429, with a Retry-After
	stUnavailable            // 503
	stTimeout                // no answer within simRESTTimeout
	stCanceled               // the caller's context ended
	stCredentials            // the credentials were refused for good
)

// simAnswer is a status with its detail.
type simAnswer struct {
	st      simStatus
	after   time.Duration // Retry-After of a 429
	reason  string        // of a 400
	ctxErr  error         // of stCanceled
	refused []string      // topics refused one by one (permissions)
}

// simEffect is what a fault does to the requests it matches.
type simEffect int

const (
	effSlow simEffect = iota // answer after d
	effHang                  // no answer: the request times out
	eff429
	eff5xx
	eff404 // the channel is gone
	eff401
	numEffects
)

var simEffectNames = [numEffects]string{"slow", "hang", "429", "503", "404", "401"}

// simFault makes the matching requests fail or wait while it lasts.
type simFault struct {
	until time.Time
	proto int           // the owner whose requests it hits; 0 for all
	ops   [numOps]bool  // the requests it hits
	eff   simEffect     // what it does
	d     time.Duration // effSlow: the delay; eff429: the Retry-After
}

// simEnd is how a connection ended.
type simEnd int

const (
	endNone   simEnd = iota
	endDrop          // the network dropped it: what it had not read is lost
	endClose         // the server closed it, after a planned-close warning
	endEvict         // the channel is gone (no_longer_subscribed)
	endRevoke        // the token behind the channel was revoked
	endKicked        // another socket opened on the channel
	endClient        // the client closed it
	endLeft          // the client left it with a close handshake
	numEnds
)

var simEndNames = [numEnds]string{"open", "dropped", "closed by the server", "channel gone", "token revoked", "kicked by another socket", "closed by the client", "left by the client"}

// simFrameKind is the kind of a frame on a simulated socket.
type simFrameKind int

const (
	frameBeat simFrameKind = iota // a heartbeat or a pong
	frameEvent
	frameClosing // the server will close the socket soon
)

type simFrame struct {
	kind  simFrameKind
	topic string
	seq   int
	ready time.Time // when the client can read it (a lagging socket)
}

// simSession is a channel.
type simSession struct {
	id      string
	proto   int             // the owner that created it
	topics  map[string]bool // subscribed
	conn    *simConn        // its open socket; nil if none
	gone    bool
	expires time.Time // zero: never
}

// simConn is a socket on a channel.
type simConn struct {
	sess      *simSession
	gen       int // numbers sockets on the server, from 1
	proto     int
	frames    []simFrame // sent, not read yet
	end       simEnd
	stalled   bool            // the network delivers nothing any more
	lag       time.Duration   // the network delays every frame this long
	seen      time.Time       // when the client last read a frame
	opened    time.Time       // when it opened
	handed    time.Time       // when Dial returned it; zero before
	announced bool            // its Connected is in the stream
	intent    map[string]bool // the set a change under way asks for
	read      int             // events the client read from it
	enq, deq  int             // frames sent, read
	closeAt   time.Time       // when the server closes it, after a warning
}

func (c *simConn) String() string { return fmt.Sprintf("%s/%d", c.sess.id, c.gen) }

// open reports whether the socket has not ended.
func (c *simConn) open() bool { return c.end == endNone }

// simProtoState is what the server knows of one owner's protocol.
type simProtoState struct {
	set    []string  // the set its last dial or change asked for
	dials  int       // dials under way
	dialed time.Time // when the dial under way began
	idle   time.Time // since when it has had no open socket and no dial; zero if it has
}

// simServer is the simulated Genesys Cloud.
type simServer struct {
	clk         *simClock
	seed        uint64
	maxChannels int           // channels per client; one more evicts one
	ttl         time.Duration // a channel's life after a PUT; 0: forever
	beatEvery   time.Duration

	down chan struct{} // closed by shutdown

	mu        sync.Mutex
	wake      chan struct{} // closed and replaced on every change
	sessions  []*simSession
	conns     []*simConn // every socket, in the order opened
	protos    map[int]*simProtoState
	pub       map[string]int   // topic -> its last event's number
	sent      map[string][]int // topic -> numbers of the events sent on some socket
	faults    []*simFault
	requests  map[[2]int]int // per owner and op: requests so far, for deterministic noise
	latency   time.Duration  // the most a request takes without a fault
	refuseAll bool           // the credentials are refused for good
	found     []simViolation // violations seen inside a request
	nextBeat  time.Time      // when every open socket gets its next heartbeat
}

// simViolation is a broken invariant, with a short kind for summaries.
type simViolation struct {
	kind, msg string
}

func newSimServer(clk *simClock, seed uint64, maxChannels int, ttl, beatEvery, latency time.Duration) *simServer {
	return &simServer{
		clk: clk, seed: seed, maxChannels: maxChannels, ttl: ttl, beatEvery: beatEvery, latency: latency,
		down: make(chan struct{}), wake: make(chan struct{}), protos: map[int]*simProtoState{}, pub: map[string]int{}, sent: map[string][]int{},
		requests: map[[2]int]int{}, nextBeat: clk.Now().Add(beatEvery),
	}
}

// bump wakes every waiter. s.mu is held.
func (s *simServer) bump() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// await waits until done reports true (checked with s.mu held) or ctx
// ends.
func (s *simServer) await(ctx context.Context, done func() bool) error {
	for {
		s.mu.Lock()
		if done() {
			s.mu.Unlock()
			return nil
		}
		w := s.wake
		s.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.down:
			return errSimDown
		}
	}
}

func (s *simServer) proto(num int) *simProtoState {
	p := s.protos[num]
	if p == nil {
		p = &simProtoState{idle: s.clk.Now()}
		s.protos[num] = p
	}
	return p
}

// dialing records that owner num starts (+1) or ends (-1) a dial.
func (s *simServer) dialing(num, delta int, topics []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proto(num)
	p.dials += delta
	if delta > 0 {
		p.set = slices.Clone(topics)
		if p.dials == 1 {
			p.dialed = s.clk.Now()
		}
	}
	s.updateIdle(num)
}

// updateIdle keeps p.idle: when num last had neither a socket nor a dial.
// s.mu is held.
func (s *simServer) updateIdle(num int) {
	p := s.proto(num)
	busy := p.dials > 0
	for _, c := range s.conns {
		if c.proto == num && c.open() && !c.handed.IsZero() {
			busy = true
		}
	}
	switch {
	case busy:
		p.idle = time.Time{}
	case p.idle.IsZero():
		p.idle = s.clk.Now()
	}
}

// noise returns a number in [0, n) that depends only on the seed, the
// owner, the op and how many such requests came before, so two owners'
// requests racing each other do not change each other's answers.
func (s *simServer) noise(num int, op simOp, n int64) int64 {
	key := [2]int{num, int(op)}
	s.requests[key]++
	h := s.seed ^ uint64(num)<<40 ^ uint64(op)<<32 ^ uint64(s.requests[key])
	// splitmix64
	h += 0x9e3779b97f4a7c15
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	h ^= h >> 31
	return int64(h % uint64(n))
}

// begin returns the fault that hits a request of owner num, if any, and
// how long the request takes. s.mu is held.
func (s *simServer) begin(num int, op simOp) (*simFault, time.Duration) {
	now := s.clk.Now()
	d := time.Duration(s.noise(num, op, int64(s.latency)+1))
	for _, f := range s.faults {
		if now.Before(f.until) && f.ops[op] && (f.proto == 0 || f.proto == num) {
			switch f.eff {
			case effSlow:
				d += f.d
			case effHang:
				d = simRESTTimeout
			}
			return f, d
		}
	}
	return nil, d
}

// request waits as a request of owner num takes, and returns the answer
// of its fault, or ok = true if the server is to serve it.
func (s *simServer) request(ctx context.Context, num int, op simOp) (a simAnswer, ok bool) {
	s.mu.Lock()
	f, d := s.begin(num, op)
	refused := s.refuseAll && op != opConnect
	s.mu.Unlock()
	if refused {
		return simAnswer{st: stCredentials}, false
	}
	if err := s.sleep(ctx, d); err != nil {
		return simAnswer{st: stCanceled, ctxErr: err}, false
	}
	if f == nil {
		return simAnswer{}, true
	}
	switch f.eff {
	case effHang:
		return simAnswer{st: stTimeout}, false
	case eff429:
		return simAnswer{st: stTooMany, after: f.d}, false
	case eff5xx:
		return simAnswer{st: stUnavailable}, false
	case eff404:
		return simAnswer{st: stGone}, false
	case eff401:
		return simAnswer{st: stUnauthorized}, false
	}
	return simAnswer{}, true
}

// sleep waits d of simulated time, or returns ctx's error if it ends
// first, or errSimDown after shutdown.
func (s *simServer) sleep(ctx context.Context, d time.Duration) error {
	if s.isDown() {
		return errSimDown
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := s.clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.down:
		return errSimDown
	}
}

var errSimDown = errors.New("sim: server shut down")

func (s *simServer) isDown() bool {
	select {
	case <-s.down:
		return true
	default:
		return false
	}
}

// shutdown ends every socket and request, so that nothing waits on the
// server any more.
func (s *simServer) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.isDown() {
		return
	}
	close(s.down)
	s.bump()
	for _, c := range s.conns {
		s.endLocked(c, endDrop, false)
		c.frames = nil
	}
}

// create makes a channel for owner num. Past the channel limit it evicts
// the oldest channel without a socket, as Genesys does; evicting one with
// a socket is the client's fault: it holds more than it may.
func (s *simServer) create(ctx context.Context, num int) (*simSession, simAnswer) {
	if a, ok := s.request(ctx, num, opCreate); !ok {
		return nil, a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var live []*simSession
	for _, ss := range s.sessions {
		if !ss.gone {
			live = append(live, ss)
		}
	}
	if len(live) >= s.maxChannels {
		victim := live[0]
		if i := slices.IndexFunc(live, func(ss *simSession) bool { return ss.conn == nil }); i >= 0 {
			victim = live[i]
		} else {
			s.found = append(s.found, simViolation{"too-many-channels", fmt.Sprintf(
				"owner %d creates a channel while the client holds %d sockets, the most WithMaxChannels(%d) allows", num, len(live), s.maxChannels)})
		}
		s.evictLocked(victim)
	}
	ss := &simSession{id: fmt.Sprintf("ch%d", len(s.sessions)+1), proto: num, topics: map[string]bool{}}
	s.extendLocked(ss)
	s.sessions = append(s.sessions, ss)
	s.bump()
	return ss, simAnswer{}
}

// extendLocked gives ss its full life again, as a PUT does.
func (s *simServer) extendLocked(ss *simSession) {
	if s.ttl > 0 {
		ss.expires = s.clk.Now().Add(s.ttl)
	}
}

// evictLocked ends a channel: its socket gets no_longer_subscribed after
// what it was sent.
func (s *simServer) evictLocked(ss *simSession) {
	ss.gone = true
	if ss.conn != nil {
		s.endLocked(ss.conn, endEvict, true)
	}
}

// connect opens a socket on ss; one already open is kicked off.
func (s *simServer) connect(ctx context.Context, num int, ss *simSession) (*simConn, simAnswer) {
	a, ok := s.request(ctx, num, opConnect)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.st == stGone {
		s.evictLocked(ss)
	}
	if !ok {
		return nil, a
	}
	if ss.gone {
		return nil, simAnswer{st: stGone}
	}
	if s.isDown() {
		return nil, simAnswer{st: stCanceled, ctxErr: errSimDown}
	}
	if ss.conn != nil {
		s.endLocked(ss.conn, endKicked, false)
	}
	now := s.clk.Now()
	c := &simConn{sess: ss, gen: len(s.conns) + 1, proto: num, seen: now, opened: now}
	ss.conn = c
	s.conns = append(s.conns, c)
	s.bump()
	return c, simAnswer{}
}

// handed records that Dial returned c to the engine.
func (s *simServer) handed(c *simConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.handed = s.clk.Now()
	s.updateIdle(c.proto)
}

// endLocked ends c; keep says whether what it was sent is still read
// first (a close handshake) or lost (a drop).
func (s *simServer) endLocked(c *simConn, how simEnd, keep bool) {
	if !c.open() {
		return
	}
	c.end = how
	if !keep || c.stalled {
		c.frames = nil
	}
	if c.sess.conn == c {
		c.sess.conn = nil
	}
	s.updateIdle(c.proto)
	s.bump()
}

// change replaces (put) or adds to (post) c's channel's subscriptions.
// A request naming a refused topic ("...bad...") is refused as a whole;
// forbidden topics ("...nope...") are refused one by one.
func (s *simServer) change(ctx context.Context, c *simConn, op simOp, topics []string) simAnswer {
	a, ok := s.request(ctx, c.proto, op)
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := c.sess
	if a.st == stGone {
		s.evictLocked(ss)
	}
	if !ok {
		return a
	}
	if ss.gone {
		return simAnswer{st: stGone}
	}
	for _, t := range topics {
		if simRefusedWhole(t) {
			return simAnswer{st: stBadRequest, reason: "topic " + t + " is not valid"}
		}
	}
	next := map[string]bool{}
	if op == opPost {
		maps.Copy(next, ss.topics)
	}
	var refused []string
	for _, t := range topics {
		if simForbidden(t) {
			refused = append(refused, t)
			continue
		}
		next[t] = true
	}
	s.checkNarrowing(c, next)
	ss.topics = next
	s.extendLocked(ss)
	s.bump()
	return simAnswer{refused: refused}
}

// checkNarrowing flags a request that takes a topic off a live socket's
// channel although the change under way keeps it: another topic's change
// costs it its events. s.mu is held.
func (s *simServer) checkNarrowing(c *simConn, next map[string]bool) {
	if !c.announced || !c.open() {
		return
	}
	var lost []string
	for t := range c.sess.topics {
		if !next[t] && c.intent[t] {
			lost = append(lost, t)
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		s.found = append(s.found, simViolation{"narrowed-live", fmt.Sprintf(
			"a change on live socket %v took %d topics it keeps off the server meanwhile (%s)", c, len(lost), simList(lost))})
	}
}

// changing records the set that a change under way on c asks for.
func (s *simServer) changing(c *simConn, all []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.intent = map[string]bool{}
	for _, t := range all {
		c.intent[t] = true
	}
	s.proto(c.proto).set = slices.Clone(all)
}

// changed records that the change under way on c is over.
func (s *simServer) changed(c *simConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.intent = nil
}

func simRefusedWhole(t string) bool { return strings.Contains(t, ".bad") }
func simForbidden(t string) bool    { return strings.Contains(t, ".nope") }

// next returns c's next frame, waiting for one, or how c ended.
func (s *simServer) next(c *simConn) (simFrame, simEnd) {
	for {
		s.mu.Lock()
		var lag clock.Timer
		switch {
		case len(c.frames) > 0 && !c.stalled:
			f, now := c.frames[0], s.clk.Now()
			if !f.ready.After(now) {
				c.frames = c.frames[1:]
				c.deq++
				c.seen = now
				if f.kind == frameEvent {
					c.read++
				}
				s.bump()
				s.mu.Unlock()
				return f, endNone
			}
			lag = s.clk.NewTimer(f.ready.Sub(now))
		case !c.open():
			s.mu.Unlock()
			return simFrame{}, c.end
		}
		w := s.wake
		s.mu.Unlock()
		if lag == nil {
			<-w
			continue
		}
		select {
		case <-w:
		case <-lag.C():
		}
		lag.Stop()
	}
}

// sendLocked queues a frame on c unless it has ended; a stalled socket
// swallows it. It reports whether it was sent.
func (s *simServer) sendLocked(c *simConn, f simFrame) bool {
	if !c.open() {
		return false
	}
	if c.stalled {
		return true
	}
	f.ready = s.clk.Now().Add(c.lag)
	c.frames = append(c.frames, f)
	c.enq++
	s.bump()
	return true
}

// drain waits until the client has read every frame sent on c before it:
// a ping, then its pong. On a stalled socket it waits for ctx.
func (s *simServer) drain(ctx context.Context, c *simConn) error {
	s.mu.Lock()
	ok := s.sendLocked(c, simFrame{kind: frameBeat})
	target := c.enq
	if c.stalled {
		target++
	}
	s.mu.Unlock()
	if !ok {
		return errors.New("sim: socket closed")
	}
	var short bool
	err := s.await(ctx, func() bool {
		short = c.deq < target && !c.open() && (len(c.frames) == 0 || c.stalled)
		return c.deq >= target || short
	})
	if err == nil && short {
		return errors.New("sim: socket ended while draining")
	}
	return err
}

// closeByClient ends c from the client's side: reading it ends at once,
// even if the server had ended it first.
func (s *simServer) closeByClient(c *simConn, how simEnd) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLocked(c, how, false)
	c.frames = nil
	s.bump()
}

// seenAt is when the client last read a frame of c.
func (s *simServer) seenAt(c *simConn) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.seen
}

// renewAt is when c's channel must be renewed: margin before it expires,
// or half its life if that is shorter; zero if it never expires.
func (s *simServer) renewAt(c *simConn, margin time.Duration) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ttl == 0 {
		return time.Time{}
	}
	return c.sess.expires.Add(-min(margin, s.ttl/2))
}

// publish raises the next event of each topic and sends it on every open
// socket whose channel holds it.
func (s *simServer) publish(topics ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range topics {
		s.pub[t]++
		n := s.pub[t]
		sent := false
		for _, ss := range s.sessions {
			if ss.topics[t] && ss.conn != nil && s.sendLocked(ss.conn, simFrame{kind: frameEvent, topic: t, seq: n}) {
				sent = true
			}
		}
		if sent {
			s.sent[t] = append(s.sent[t], n)
		}
	}
}

// tick sends heartbeats, carries out the planned closes that fall due and
// ends the channels that expired.
func (s *simServer) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	beat := !now.Before(s.nextBeat)
	if beat {
		s.nextBeat = now.Add(s.beatEvery)
	}
	for _, c := range s.conns {
		switch {
		case !c.open():
		case !c.closeAt.IsZero() && !now.Before(c.closeAt):
			s.endLocked(c, endClose, true)
		case beat:
			s.sendLocked(c, simFrame{kind: frameBeat})
		}
	}
	for _, ss := range s.sessions {
		if !ss.gone && !ss.expires.IsZero() && !now.Before(ss.expires) {
			s.evictLocked(ss)
		}
	}
}

// nextTick is when tick has something to do next.
func (s *simServer) nextTick() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.nextBeat
	for _, c := range s.conns {
		if c.open() && !c.closeAt.IsZero() && c.closeAt.Before(next) {
			next = c.closeAt
		}
	}
	for _, ss := range s.sessions {
		if !ss.gone && !ss.expires.IsZero() && ss.expires.Before(next) {
			next = ss.expires
		}
	}
	return next
}

// openConns returns the open sockets that Dial returned, in the order
// they were opened.
func (s *simServer) openConns() []*simConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var open []*simConn
	for _, c := range s.conns {
		if c.open() && !c.handed.IsZero() {
			open = append(open, c)
		}
	}
	return open
}

// readState answers a state read: the last event of each topic read.
func (s *simServer) readState(ctx context.Context, num int, topics []string) (map[string]int, simAnswer) {
	if a, ok := s.request(ctx, num, opRead); !ok {
		return nil, a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	read := map[string]int{}
	for _, t := range topics {
		if n, ok := s.pub[t]; ok {
			read[t] = n
		}
	}
	return read, simAnswer{}
}

// takeFound returns the violations seen inside requests since the last call.
func (s *simServer) takeFound() []simViolation {
	s.mu.Lock()
	defer s.mu.Unlock()
	found := s.found
	s.found = nil
	return found
}

// simList shortens a list of topics for a message.
func simList(ts []string) string {
	short := make([]string, 0, min(len(ts), 4))
	for _, t := range ts[:min(len(ts), 4)] {
		short = append(short, simShort(t))
	}
	if len(ts) > 4 {
		short = append(short, fmt.Sprintf("and %d more", len(ts)-4))
	}
	return strings.Join(short, ", ")
}

// simShort names a topic without the suffixes of a combined one.
func simShort(t string) string {
	if name, _, ok := strings.Cut(t, "?"); ok {
		return name + "?…"
	}
	return t
}

// The faults the schedule injects.

// end ends c as how says; a revoked token is a message after what c
// was sent, a drop loses it.
func (s *simServer) end(c *simConn, how simEnd) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if how == endRevoke {
		c.sess.gone = true
	}
	s.endLocked(c, how, how != endDrop)
}

// dropOwner drops the socket of owner num, one that Dial has not
// returned yet too, and says which.
func (s *simServer) dropOwner(num int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range slices.Backward(s.conns) {
		if c.proto == num && c.open() {
			s.endLocked(c, endDrop, false)
			return fmt.Sprintf("%v (owner %d)", c, num)
		}
	}
	return fmt.Sprintf("owner %d has no socket", num)
}

// ownersWithSockets returns the owners with an open socket, in the order
// of their sockets.
func (s *simServer) ownersWithSockets() []int {
	var nums []int
	for _, c := range s.openConns() {
		if !slices.Contains(nums, c.proto) {
			nums = append(nums, c.proto)
		}
	}
	return nums
}

func (s *simServer) stall(c *simConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.stalled = true
	s.bump()
}

func (s *simServer) setLag(c *simConn, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.lag = d
}

// warn sends c a planned-close warning; the server closes it at at.
func (s *simServer) warn(c *simConn, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnLocked(c, at)
}

func (s *simServer) warnLocked(c *simConn, at time.Time) {
	if c.open() && c.closeAt.IsZero() {
		s.sendLocked(c, simFrame{kind: frameClosing})
		c.closeAt = at
	}
}

// warnAll warns every open socket, and says which.
func (s *simServer) warnAll(at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, c := range s.conns {
		if c.open() {
			s.warnLocked(c, at)
			names = append(names, c.String())
		}
	}
	return strings.Join(names, " ")
}

// evict ends c's channel.
func (s *simServer) evict(c *simConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evictLocked(c.sess)
}

// refuseCredentials refuses every request from now on and revokes the
// token behind every socket.
func (s *simServer) refuseCredentials() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseAll = true
	for _, c := range s.conns {
		c.sess.gone = true
		s.endLocked(c, endRevoke, true)
	}
}

func (s *simServer) addFault(f simFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

func (s *simServer) clearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// protoNums returns the owners that have used the server, at least [1].
func (s *simServer) protoNums() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	nums := slices.Sorted(maps.Keys(s.protos))
	if len(nums) == 0 {
		return []int{1}
	}
	return nums
}

// lastEvent returns the number of the last event of t.
func (s *simServer) lastEvent(t string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pub[t]
}

// describe sums up the sockets for the trace: "!" has no Connected yet,
// "~" is stalled, "+" lags.
func (s *simServer) describe() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, c := range s.conns {
		if !c.open() {
			continue
		}
		fmt.Fprintf(&b, "%v:o%d:%d", c, c.proto, len(c.sess.topics))
		switch {
		case c.handed.IsZero():
			b.WriteString("(dialing)")
		case !c.announced:
			b.WriteString("!")
		}
		if c.stalled {
			b.WriteString("~")
		}
		if c.lag > 0 {
			b.WriteString("+")
		}
		b.WriteString(" ")
	}
	return b.String()
}
