package notify_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/notifytest"
)

// org is a roster of users and queues on the fake server.
type org struct {
	users, queues []string
}

func newOrg(users, queues int) org {
	var o org
	for i := range users {
		o.users = append(o.users, fmt.Sprintf("u%03d", i))
	}
	for i := range queues {
		o.queues = append(o.queues, fmt.Sprintf("q%02d", i))
	}
	return o
}

// topics subscribes presence and routing status of every user, the
// combined form for every other one, and every queue's observations.
func (o org) topics() []string {
	var out []string
	for i, u := range o.users {
		if i%2 == 0 {
			out = append(out, "v2.users."+u+"?presence&routingStatus")
		} else {
			out = append(out, notify.UserPresenceTopic(u), notify.UserRoutingStatusTopic(u))
		}
	}
	for _, q := range o.queues {
		out = append(out, notify.QueueObservationsTopic(q))
	}
	return out
}

var (
	presences = []string{"Available", "Busy", "Away", "On Queue", "Meal"}
	statuses  = []string{"IDLE", "INTERACTING", "OFF_QUEUE", "NOT_RESPONDING"}
)

// change sets a new state for every user and queue, the n-th time.
func (o org) change(srv *notifytest.Server, n int) {
	for i, u := range o.users {
		srv.SetPresence(u, presences[(i+n)%len(presences)])
		srv.SetRoutingStatus(u, statuses[(i+n)%len(statuses)])
	}
	for i, q := range o.queues {
		srv.SetQueueObservation(q, map[string]int{"oWaiting": i + n, "oInteracting": n})
	}
}

// diff describes where the mirror differs from the server's state.
func (o org) diff(srv *notifytest.Server, m *notify.Mirror) []string {
	var out []string
	for _, u := range o.users {
		want, _ := srv.Presence(u)
		if p, ok := m.Presence(u); !ok || p.PresenceDefinition.SystemPresence != want {
			out = append(out, fmt.Sprintf("%s presence %q, want %q", u, p.PresenceDefinition.SystemPresence, want))
		}
		want, _ = srv.RoutingStatus(u)
		if r, ok := m.RoutingStatus(u); !ok || r.RoutingStatus.Status != want {
			out = append(out, fmt.Sprintf("%s routing status %q, want %q", u, r.RoutingStatus.Status, want))
		}
	}
	for _, q := range o.queues {
		want := srv.QueueObservation(q)
		obs, _ := m.QueueObservation(q)
		for _, metric := range []string{"oWaiting", "oInteracting"} {
			if n, _ := obs.Count(metric); n != want[metric] {
				out = append(out, fmt.Sprintf("%s %s %d, want %d", q, metric, n, want[metric]))
			}
		}
	}
	return out
}

// awaitResynced applies events to m until Resynced arrives, and returns it.
func awaitResynced(h *harness, m *notify.Mirror) notify.Resynced {
	h.t.Helper()
	for {
		switch ev := h.next().(type) {
		case notify.Resynced:
			return ev
		case notify.Disconnected:
			h.t.Fatalf("Disconnected %+v while resyncing", ev)
		default:
			m.Apply(ev)
		}
	}
}

// After every drop during which the state changed, the mirror of
// Notifications and Snapshots equals the server's state once Resynced
// has arrived, at a bounded cost in REST calls.
func TestSnapshotsRepairStateAfterEveryGap(t *testing.T) {
	const users, queues = 300, 20
	o := newOrg(users, queues)
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	o.change(srv, 0)
	before := srv.Stats()
	h := startSubscribed(t, genesysProtocol, srv, o.topics(), notify.WithClock(clk), notify.WithSnapshots(), notify.WithBackoff(time.Second, time.Second))
	m := notify.NewMirror()
	if c := await[notify.Connected](h); c.Gap || !slices.Contains(c.Topics, "v2.users.u000?presence&routingStatus") {
		t.Fatalf("first Connected = %+v", c)
	}
	maxCalls := (users+49)/50 + (users+99)/100 + (queues+99)/100
	for round := 1; round <= 4; round++ {
		r := awaitResynced(h, m)
		after := srv.Stats()
		if d := o.diff(srv, m); len(d) > 0 {
			t.Fatalf("round %d: the mirror differs in %d places after Resynced, such as %v", round, len(d), d[:min(3, len(d))])
		}
		if r.Err != nil || len(r.Skipped) != 0 || len(r.Topics) != 2*users+queues {
			t.Fatalf("round %d: Resynced with %d topics, skipped %v, err %v", round, len(r.Topics), r.Skipped, r.Err)
		}
		calls := after.PresenceReads + after.UserReads + after.ObservationQueries -
			before.PresenceReads - before.UserReads - before.ObservationQueries
		if calls > maxCalls {
			t.Fatalf("round %d: %d REST reads, want at most %d", round, calls, maxCalls)
		}
		// A drop; the state changes while no socket is open.
		srv.DropAll()
		await[notify.Disconnected](h)
		o.change(srv, round)
		if d := o.diff(srv, m); len(d) == 0 {
			t.Fatal("the state did not change")
		}
		t.Logf("round %d: %d REST reads", round, calls)
		before = srv.Stats()
		clk.Advance(time.Second)
		if c := await[notify.Connected](h); !c.Gap {
			t.Fatalf("round %d: Connected = %+v", round, c)
		}
	}
}

// A change made while the snapshot read is in flight is never undone by
// the snapshot: the mirror keeps the newer state.
func TestChangeDuringSnapshotReadDoesNotRegress(t *testing.T) {
	o := newOrg(60, 2)
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	o.change(srv, 0)
	h := startSubscribed(t, genesysProtocol, srv, o.topics(), notify.WithSnapshots())
	m := notify.NewMirror()
	await[notify.Connected](h)
	// The reads answer while these changes are published.
	o.change(srv, 1)
	o.change(srv, 2)
	awaitResynced(h, m)
	// Every change published has arrived once its last event did.
	last := o.users[len(o.users)-1]
	want, _ := srv.RoutingStatus(last)
	for {
		if r, ok := m.RoutingStatus(last); ok && r.RoutingStatus.Status == want {
			if q, _ := m.QueueObservation(o.queues[1]); countIs(q, "oInteracting", 2) {
				break
			}
		}
		m.Apply(h.next())
	}
	if d := o.diff(srv, m); len(d) > 0 {
		t.Fatalf("the mirror differs in %d places, such as %v", len(d), d[:min(3, len(d))])
	}
}

func countIs(q notify.QueueObservation, metric string, n int) bool {
	got, ok := q.Count(metric)
	return ok && got == n
}

// A 429 on a read is waited out; a 403 skips only the topics of that
// reader, with the error; the stream stays up.
func TestSnapshotReadFailures(t *testing.T) {
	o := newOrg(10, 3)
	clk := clock.NewFake(time.Now())
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	o.change(srv, 0)
	srv.FailNextOn("/api/v2/users/presences/purecloud/bulk", 1, http.StatusTooManyRequests, 3*time.Second)
	srv.FailNextOn("/api/v2/analytics/queues/observations/query", 1, http.StatusForbidden, 0)
	h := startSubscribed(t, genesysProtocol, srv, o.topics(), notify.WithClock(clk), notify.WithBackoff(0, time.Second), notify.WithSnapshots())
	m := notify.NewMirror()
	await[notify.Connected](h)
	start := clk.Now()
	result := make(chan notify.Resynced, 1)
	go func() {
		for ev := range h.c.Events() {
			if r, ok := ev.(notify.Resynced); ok {
				result <- r
				return
			}
			m.Apply(ev)
		}
	}()
	var r notify.Resynced
	for waiting := true; waiting; {
		select {
		case r = <-result:
			waiting = false
		case <-time.After(time.Millisecond):
			clk.Advance(500 * time.Millisecond)
		}
	}
	if clk.Now().Sub(start) < 3*time.Second {
		t.Fatalf("the presence read was retried before its Retry-After")
	}
	var wantSkipped []string
	for _, q := range o.queues {
		wantSkipped = append(wantSkipped, notify.QueueObservationsTopic(q))
	}
	if !slices.Equal(r.Skipped, wantSkipped) || r.Err == nil || !strings.Contains(r.Err.Error(), "403") {
		t.Fatalf("Resynced skipped %v with %v, want the queues' topics and the 403", r.Skipped, r.Err)
	}
	if len(r.Topics) != 2*len(o.users) {
		t.Fatalf("Resynced has %d topics, want the %d of the users", len(r.Topics), 2*len(o.users))
	}
	for _, u := range o.users {
		want, _ := srv.Presence(u)
		if p, _ := m.Presence(u); p.PresenceDefinition.SystemPresence != want {
			t.Fatalf("%s: presence %q, want %q", u, p.PresenceDefinition.SystemPresence, want)
		}
	}
	if st := h.c.Stats(); st.State != notify.StateConnected || st.Reconnects != 0 {
		t.Fatalf("Stats = %+v after failed reads", st)
	}
}

// A topic subscribed while connected starts from its state too.
func TestTopicAddedWhileConnectedGetsASnapshot(t *testing.T) {
	o := newOrg(2, 0)
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	o.change(srv, 0)
	srv.SetPresence("late", "Busy")
	h := startSubscribed(t, genesysProtocol, srv, o.topics(), notify.WithSnapshots())
	m := notify.NewMirror()
	awaitResynced(h, m)
	late := notify.UserPresenceTopic("late")
	if err := h.c.Subscribe(t.Context(), late); err != nil {
		t.Fatal(err)
	}
	r := awaitResynced(h, m)
	if !slices.Equal(r.Topics, []string{late}) || r.Err != nil {
		t.Fatalf("Resynced = %+v, want the added topic", r)
	}
	if p, ok := m.Presence("late"); !ok || p.PresenceDefinition.SystemPresence != "Busy" {
		t.Fatalf("presence of the added topic = %+v, %v", p, ok)
	}
}

// A Dropped is a gap too: the state of the topics whose notifications the
// stalled consumer lost is read again after it, so a mirror of the stream
// equals the server's state once the Resynced of the last Dropped has
// arrived.
func TestSnapshotsRepairStateAfterDropped(t *testing.T) {
	const users, queues, changes = 1000, 100, 3
	o := newOrg(users, queues)
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	o.change(srv, 0)
	h := startSubscribed(t, genesysProtocol, srv, o.topics(), notify.WithSnapshots(), notify.WithEventBuffer(16))
	m := notify.NewMirror()
	// The set spans three channels, each read after its Connected.
	for connected, resynced := 0, 0; connected < 3 || resynced < 3; {
		switch ev := h.next().(type) {
		case notify.Connected:
			connected++
		case notify.Resynced:
			resynced++
		default:
			m.Apply(ev)
		}
	}
	before := srv.Stats()
	// The consumer stalls while every user's and queue's state changes.
	for n := 1; n <= changes; n++ {
		o.change(srv, n)
	}
	published := changes * (2*users + queues)
	read, dropped, runs, resyncs := 0, 0, 0, 0
	for read+dropped < published || resyncs < runs {
		switch ev := h.next().(type) {
		case notify.Notification:
			read++
			m.Apply(ev)
		case notify.Dropped:
			dropped += ev.Count
			runs++
		case notify.Resynced:
			if ev.ChannelID != "" || ev.Err != nil {
				t.Fatalf("Resynced = %+v, want one after a Dropped", ev)
			}
			resyncs++
		case notify.Snapshot:
			m.Apply(ev)
		default:
			t.Fatalf("unexpected %T %+v", ev, ev)
		}
	}
	if dropped == 0 {
		t.Fatal("nothing was dropped")
	}
	if d := o.diff(srv, m); len(d) > 0 {
		t.Fatalf("the mirror differs in %d places after the last Resynced, such as %v", len(d), d[:min(3, len(d))])
	}
	after := srv.Stats()
	reads := after.PresenceReads + after.UserReads + after.ObservationQueries -
		before.PresenceReads - before.UserReads - before.ObservationQueries
	t.Logf("%d notifications read, %d dropped in %d runs; %d REST reads for their resyncs", read, dropped, runs, reads)
}
