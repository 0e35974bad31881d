package main

// The demo of tail: an embedded fake server (package notifytest) whose
// three agents change presence, and which drops the connection every
// -drop-every. main.go uses it through demoMode, set here; a copy of
// main.go without this file needs credentials, and links nothing of
// notifytest.

import (
	"context"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/demo"
	"github.com/gcnotify/notify/notifytest"
)

func init() {
	dropEvery := demo.DropEvery()
	demoMode.usage = `With none set it runs in demo mode: an embedded fake server publishes
presence changes of three agents and drops the connection every
-drop-every, so that you see the client reconnect and report the gap;
topics cannot be named then. Ctrl-C stops it.
`
	demoMode.start = func(ctx context.Context) (*notify.Client, []string, func(), error) {
		srv := demo.NewServer()
		stop := demo.Start(ctx, srv, demo.Demo{Tick: 400 * time.Millisecond, DropEvery: *dropEvery, Step: demoStep(srv)})
		c, err := demo.Client(srv)
		return c, demoTopics, stop, err
	}
}

// The demo's agents, and their presence topics.
var (
	demoAgents = []string{
		"3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b",
		"8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f",
		"c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
	}
	demoTopics = []string{
		notify.UserPresenceTopic(demoAgents[0]),
		notify.UserPresenceTopic(demoAgents[1]),
		notify.UserPresenceTopic(demoAgents[2]),
	}
)

// demoStep returns the demo's step: its n-th change moves one agent to
// another presence and publishes it on srv, as Genesys Cloud would.
func demoStep(srv *notifytest.Server) func(n int) {
	presences := []string{"Available", "Busy", "Away", "Meal", "Meeting"}
	return func(n int) {
		srv.Publish(demoTopics[n%len(demoTopics)], notify.UserPresence{
			Source:             "PURECLOUD",
			PresenceDefinition: notify.PresenceDefinition{SystemPresence: presences[n%len(presences)]},
			ModifiedDate:       time.Now().UTC(),
		})
	}
}
