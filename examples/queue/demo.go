package main

// The demo of queue: an embedded fake server (package notifytest) whose
// three queues are busy, and which drops the connection every -drop-every,
// changing counts while the client is away. main.go uses it through
// demoMode, set here; a copy of main.go without this file needs
// credentials, and links nothing of notifytest.

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/demo"
	"github.com/gcnotify/notify/notifytest"
)

// demoTick is how often the demo changes a queue.
const demoTick = 150 * time.Millisecond

func init() {
	dropEvery := demo.DropEvery()
	demoMode.usage = `With none set it runs in demo mode: an embedded fake server plays three
busy queues and drops the connection every -drop-every, changing some
counts while it is down; queues cannot be named then. Ctrl-C stops it.
`
	demoMode.start = func(ctx context.Context) (*notify.Client, []queue, func(), error) {
		srv := demo.NewServer()
		d := newDemo(srv)
		stop := demo.Start(ctx, srv, demo.Demo{Tick: demoTick, Step: d.step, DropEvery: *dropEvery, Away: d.away})
		c, err := demoClient(srv)
		return c, demoQueues, stop, err
	}
}

// demoClient returns the client of demo mode, for srv.
func demoClient(srv *notifytest.Server) (*notify.Client, error) {
	return demo.Client(srv, notify.WithSnapshots())
}

// The demo's queues.
var demoQueues = []queue{
	{ID: "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b", Name: "Support"},
	{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", Name: "Sales"},
	{ID: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", Name: "Billing"},
}

// demoOrg plays the demo's queues on a fake server, whose organization state
// is the truth: it changes it with SetQueueObservation, which publishes
// each change as Genesys does (the conversation metrics that changed, and
// the agents apart from them), and which the server's observation query
// answers, as Genesys does, for the snapshots after a gap.
//
// The fake observes voice conversations. Each queue keeps at least one
// conversation waiting and one interacting, each interacting one has an
// agent, and the agents on queue only move between IDLE and INTERACTING,
// so their number is fixed.
type demoOrg struct {
	srv *notifytest.Server
}

// newDemo sets the queues' first counts on srv.
func newDemo(srv *notifytest.Server) *demoOrg {
	first := [][3]int{{4, 5, 4}, {2, 4, 2}, {1, 2, 2}} // waiting, interacting, idle
	for i, q := range demoQueues {
		w, in, idle := first[i][0], first[i][1], first[i][2]
		srv.SetQueueObservation(q.ID, map[string]int{"oWaiting": w, "oInteracting": in,
			"oOnQueueUsers:IDLE": idle, "oOnQueueUsers:INTERACTING": in})
	}
	return &demoOrg{srv: srv}
}

// step is the demo's Step: it changes a queue, and now and then publishes
// a 30-minute aggregate, which shares the topic and changes no count.
func (d *demoOrg) step(n int) {
	q := demoQueues[rand.IntN(len(demoQueues))].ID
	d.change(q)
	if n%7 == 0 {
		d.aggregate(q, n)
	}
}

// away changes two queues while no socket is open, changes that the
// client learns only from its snapshots.
func (d *demoOrg) away() {
	i := rand.IntN(len(demoQueues))
	d.change(demoQueues[i].ID)
	d.change(demoQueues[(i+1)%len(demoQueues)].ID)
}

// change makes a conversation of queue id arrive, be answered by an idle
// agent or end, and sets the counts that changed.
func (d *demoOrg) change(id string) {
	st := d.srv.QueueObservation(id)
	w, in, idle := st["oWaiting"], st["oInteracting"], st["oOnQueueUsers:IDLE"]
	switch rand.IntN(3) {
	case 1: // an idle agent answers a waiting one
		if w > 1 && idle > 0 {
			d.srv.SetQueueObservation(id, map[string]int{"oWaiting": w - 1, "oInteracting": in + 1,
				"oOnQueueUsers:IDLE": idle - 1, "oOnQueueUsers:INTERACTING": in + 1})
			return
		}
	case 2: // one ends
		if in > 1 {
			d.srv.SetQueueObservation(id, map[string]int{"oInteracting": in - 1,
				"oOnQueueUsers:IDLE": idle + 1, "oOnQueueUsers:INTERACTING": in - 1})
			return
		}
	}
	// one arrives
	d.srv.SetQueueObservation(id, map[string]int{"oWaiting": w + 1})
}

// aggregate publishes a 30-minute aggregate of queue id, as Genesys does
// on the observations topic. The fake's state has no aggregates, so it is
// published as it is.
func (d *demoOrg) aggregate(id string, n int) {
	start := time.Now().UTC().Truncate(30 * time.Minute)
	d.srv.Publish(notify.QueueObservationsTopic(id), notify.QueueObservation{
		Group: notify.ObservationGroup{QueueID: id, MediaType: "voice"},
		Data: []notify.ObservationData{{
			Interval: start.Format(time.RFC3339) + "/" + start.Add(30*time.Minute).Format(time.RFC3339),
			Metrics: []notify.ObservationMetric{
				{Metric: "nOffered", Stats: notify.ObservationStats{Count: 40 + n}},
				{Metric: "tAnswered", Stats: notify.ObservationStats{Count: 35 + n, Sum: 612000, Min: 2100, Max: 48000}},
			},
		}},
	})
}
