package main

// The demo of presence: an embedded fake server (package notifytest) whose
// four agents change state, and which drops the connection every
// -drop-every, changing agents while the client is away. main.go uses it
// through demoMode, set here; a copy of main.go without this file needs
// credentials, and links nothing of notifytest.

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/demo"
	"github.com/gcnotify/notify/notifytest"
)

// demoTick is how often the demo changes an agent.
const demoTick = 250 * time.Millisecond

func init() {
	dropEvery := demo.DropEvery()
	demoMode.usage = `With none set it runs in demo mode: an embedded fake server plays four
agents and drops the connection every -drop-every, changing some agents
while it is down; users cannot be named then. Ctrl-C stops it.
`
	demoMode.start = func(ctx context.Context) (*notify.Client, []agent, func(), error) {
		srv := demo.NewServer()
		d := newDemo(srv)
		stop := demo.Start(ctx, srv, demo.Demo{Tick: demoTick, Step: d.step, DropEvery: *dropEvery, Away: d.away})
		c, err := demoClient(srv)
		return c, demoAgents, stop, err
	}
}

// demoClient returns the client of demo mode, for srv.
func demoClient(srv *notifytest.Server) (*notify.Client, error) {
	return demo.Client(srv, notify.WithSnapshots())
}

// The demo's agents.
var demoAgents = []agent{
	{ID: "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b", Name: "Ada Lovelace"},
	{ID: "8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f", Name: "Grace Hopper"},
	{ID: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", Name: "Alan Turing"},
	{ID: "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70", Name: "Katherine Johnson"},
}

var (
	demoPresences = []string{"Available", "On Queue", "Busy", "Away", "Break", "Meal", "Meeting"}
	demoRouting   = []string{"IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"}
)

// demoOrg plays the demo's agents on a fake server, whose organization state
// is the truth: it changes it with the server's setters, which publish
// each change as Genesys would, and which the server's REST readers
// answer, as Genesys does, for the snapshots after a gap.
type demoOrg struct {
	srv *notifytest.Server
}

// newDemo sets the agents' first state on srv.
func newDemo(srv *notifytest.Server) *demoOrg {
	first := [][2]string{{"On Queue", "IDLE"}, {"Available", "OFF_QUEUE"}, {"On Queue", "INTERACTING"}, {"Meeting", "OFF_QUEUE"}}
	for i, a := range demoAgents {
		srv.SetPresence(a.ID, first[i][0])
		srv.SetRoutingStatus(a.ID, first[i][1])
	}
	return &demoOrg{srv: srv}
}

// step is the demo's Step: it changes one agent.
func (d *demoOrg) step(int) {
	d.change(demoAgents[rand.IntN(len(demoAgents))].ID)
}

// away changes two agents while no socket is open, changes that the
// client learns only from its snapshots.
func (d *demoOrg) away() {
	i := rand.IntN(len(demoAgents))
	d.change(demoAgents[i].ID)
	d.change(demoAgents[(i+1)%len(demoAgents)].ID)
}

// change moves user id to another routing status, if it is on queue and
// mostly, or else to another presence, with the routing status that goes
// with it.
func (d *demoOrg) change(id string) {
	presence, _ := d.srv.Presence(id)
	routing, _ := d.srv.RoutingStatus(id)
	if presence == "On Queue" && rand.IntN(3) > 0 {
		d.srv.SetRoutingStatus(id, other(demoRouting, routing))
		return
	}
	presence = other(demoPresences, presence)
	d.srv.SetPresence(id, presence)
	next := "OFF_QUEUE"
	if presence == "On Queue" {
		next = "IDLE"
	}
	if next != routing {
		d.srv.SetRoutingStatus(id, next)
	}
}

// other returns a random element of values that is not v.
func other(values []string, v string) string {
	for {
		if w := values[rand.IntN(len(values))]; w != v {
			return w
		}
	}
}
