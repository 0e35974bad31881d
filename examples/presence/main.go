// Command presence shows a live table of agents' presence and routing
// status, with a status line that tells whether the stream is connected,
// reconnecting, or just recovered from a gap. The table is a notify.Mirror
// of the stream: the client (notify.WithSnapshots) reads every agent's
// state again in bulk after each gap and delivers it as snapshots, so the
// table is right again once the status line says "resynced".
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service; name the users by id, optionally with a label:
//
//	go run ./examples/presence 3b5e0f7a-…=Ada 8f0e6a2b-…
//
// With none of them set it runs in demo mode: an embedded fake server
// (package notifytest) plays four agents whose state changes, and drops
// the connection every few seconds, changing agents while the client is
// away:
//
//	go run ./examples/presence
//
// presence -h tells more.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

const usage = `usage: presence [-plain] [-drop-every duration] [user-id[=name] ...]

presence shows the presence and routing status of agents as they change. On
a terminal it redraws a table under a status line; otherwise (or with
-plain) it prints one line per change. After every reconnect it reads all
the agents' state again in bulk, since Genesys Cloud keeps no events for a
closed socket, and says "resynced" once the table is right again.

Environment:
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant, allowed to
                                            read users' presence and routing
                                            status
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

With all three set, presence shows the users named as arguments (a user id,
optionally =name). With none set it runs in demo mode: an embedded fake
server plays four agents and drops the connection every -drop-every,
changing some agents while it is down; users cannot be named then. Ctrl-C
stops it.

Flags:
`

// demoTick is how often the demo changes an agent.
const demoTick = 250 * time.Millisecond

func main() {
	plain := flag.Bool("plain", false, "print one line per change, even on a terminal")
	dropEvery := flag.Duration("drop-every", 3*time.Second, "demo mode: drop the connection this often; 0 never")
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), usage); flag.PrintDefaults() }
	flag.Parse()
	creds, live, err := notifytest.CredentialsFromEnv(os.Getenv)
	switch {
	case err != nil:
	case *dropEvery < 0:
		err = fmt.Errorf("-drop-every %v is negative; 0 never drops", *dropEvery)
	case live && flag.NArg() == 0:
		err = errors.New("name at least one user: id or id=name")
	case !live && flag.NArg() > 0:
		err = errors.New("users are shown from Genesys Cloud only: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT, or name none for the demo")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "presence: %v\n", err)
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("presence: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var (
		c      *notify.Client
		agents []agent
		title  = "Agents"
	)
	if live {
		for _, arg := range flag.Args() {
			id, name, _ := strings.Cut(arg, "=")
			agents = append(agents, agent{ID: id, Name: name})
		}
		ts := notify.ClientCredentials(ctx, creds.Environment, creds.ClientID, creds.ClientSecret)
		c, err = notify.New(ts, notify.WithSnapshots()) // ts names the environment
		// An unknown region is a usage error: say so at once.
		if errors.Is(err, notify.ErrUnknownEnvironment) {
			fmt.Fprintf(os.Stderr, "presence: GENESYS_ENVIRONMENT: %v\n", err)
			stop()
			os.Exit(2)
		}
	} else {
		fmt.Fprintln(os.Stderr, "demo mode: no credentials, using the embedded fake server")
		srv := notifytest.NewServer(notifytest.Config{})
		defer srv.Close() // after c.Close, deferred below
		d := newDemo(srv)
		go srv.RunDemo(ctx, notifytest.Demo{Tick: demoTick, Step: d.step(dropEach(*dropEvery, demoTick))})
		agents, title = demoAgents, title+" (demo)"
		c, err = demoClient(srv)
	}
	if err == nil {
		defer c.Close()
		m := notify.NewMirror()
		table := func() [][]string { return rows(agents, m) }
		screen := notifytest.NewScreen(os.Stdout, !*plain && notifytest.Terminal(os.Stdout), title, table)
		err = show(ctx, c, screen, agents, m)
	}
	if err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// agent is one row of the table: who it shows. Its state is in the
// Mirror.
type agent struct {
	ID, Name string
}

func (a agent) label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// state is what the table shows of an agent.
type state struct {
	Presence      string // system presence, such as "On Queue"; "" if unknown
	PresenceSince time.Time
	Routing       string // routing status, such as "IDLE"; "" if unknown
	RoutingSince  time.Time
}

// stateOf returns the state of user id as m holds it.
func stateOf(m *notify.Mirror, id string) state {
	var s state
	if p, ok := m.Presence(id); ok {
		s.Presence, s.PresenceSince = p.PresenceDefinition.SystemPresence, p.ModifiedDate
	}
	if r, ok := m.RoutingStatus(id); ok {
		s.Routing, s.RoutingSince = r.RoutingStatus.Status, r.RoutingStatus.StartTime
	}
	return s
}

// rows returns the table of the agents as m holds them, its header first.
func rows(agents []agent, m *notify.Mirror) [][]string {
	rows := [][]string{{"AGENT", "PRESENCE", "SINCE", "ROUTING", "SINCE"}}
	for _, a := range agents {
		s := stateOf(m, a.ID)
		rows = append(rows, []string{a.label(), orDash(s.Presence), clock(s.PresenceSince), orDash(s.Routing), clock(s.RoutingSince)})
	}
	return rows
}

// show subscribes c to the agents' topics, applies their notifications and
// snapshots to m and shows the changes on v, until ctx ends or Run fails.
// c must have WithSnapshots: the snapshots are what load the agents, on
// the first connection and after every gap.
func show(ctx context.Context, c *notify.Client, v *notifytest.Screen, agents []agent, m *notify.Mirror) error {
	byTopic := map[string]agent{}
	var topics []string
	for _, a := range agents {
		for _, t := range []string{notify.UserPresenceTopic(a.ID), notify.UserRoutingStatusTopic(a.ID)} {
			byTopic[t] = a
			topics = append(topics, t)
		}
	}
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	// changed shows a, whose state changed; why is "presence", "routing"
	// or "snapshot". m.Apply reports a change of state only, so a
	// snapshot that finds what the table shows prints nothing.
	changed := func(a agent, why string) {
		s := stateOf(m, a.ID)
		v.Change("%-8s %q %s, %s", why, a.label(), orDash(s.Presence), orDash(s.Routing))
	}
	// Snapshots come one topic at a time: the agents they changed are
	// shown together once read, rather than half read.
	read := map[string]bool{}
	showRead := func() {
		for _, a := range agents {
			if read[a.ID] {
				changed(a, "snapshot")
			}
		}
		clear(read)
	}
	v.Status("connecting")
	for ev := range c.Events() { // closed when Run returns
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: the client now
			// reads the agents' state and delivers it as Snapshots.
			if ev.Gap {
				v.Status(fmt.Sprintf("connected after a %s gap: reading agents again", ev.Downtime.Round(time.Millisecond)))
			} else {
				v.Status("connected: reading agents")
			}
		case notify.Resynced:
			showRead()
			v.Status(resynced(ev))
		case notify.Disconnected:
			showRead()
			v.Status(fmt.Sprintf("reconnecting in %s: %v", ev.RetryIn.Round(time.Millisecond), ev.Err))
		case notify.Rejected:
			v.Status(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.Status(fmt.Sprintf("fell behind: %d changes dropped", ev.Count))
		case notify.Snapshot:
			if a, ok := byTopic[ev.Topic]; ok && m.Apply(ev) {
				read[a.ID] = true
			}
		case notify.Notification:
			if a, ok := byTopic[ev.Topic]; ok && m.Apply(ev) {
				why := "presence"
				if strings.HasSuffix(ev.Topic, ".routingStatus") {
					why = "routing"
				}
				changed(a, why)
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
	}
	if err := <-runErr; ctx.Err() == nil {
		return err
	}
	return nil // interrupted
}

// resynced is the status line of r: "resynced: 8 topics", and what was
// skipped and why, if anything was.
func resynced(r notify.Resynced) string {
	s := fmt.Sprintf("resynced: %d topics", len(r.Topics))
	if len(r.Skipped) > 0 {
		s += fmt.Sprintf(", %d skipped", len(r.Skipped))
	}
	if r.Err != nil {
		s += fmt.Sprintf(": %v", r.Err)
	}
	return s
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// demoClient returns the client of demo mode, for srv.
func demoClient(srv *notifytest.Server) (*notify.Client, error) {
	return notify.New(srv.TokenSource(), notify.WithAPIBaseURL(srv.URL()), notify.WithSnapshots(),
		notify.WithBackoff(200*time.Millisecond, 2*time.Second))
}

// dropEach returns after how many ticks the demo drops the connection, to
// drop it about every dropEvery; 0 never.
func dropEach(dropEvery, tick time.Duration) int {
	if dropEvery == 0 {
		return 0
	}
	return max(1, int((dropEvery+tick/2)/tick))
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

// demo plays the demo's agents on a fake server, whose organization state
// is the truth: it changes it with the server's setters, which publish
// each change as Genesys would, and which the server's REST readers
// answer, as Genesys does, for the snapshots after a gap.
type demo struct {
	srv *notifytest.Server
}

// newDemo sets the agents' first state on srv.
func newDemo(srv *notifytest.Server) *demo {
	first := [][2]string{{"On Queue", "IDLE"}, {"Available", "OFF_QUEUE"}, {"On Queue", "INTERACTING"}, {"Meeting", "OFF_QUEUE"}}
	for i, a := range demoAgents {
		srv.SetPresence(a.ID, first[i][0])
		srv.SetRoutingStatus(a.ID, first[i][1])
	}
	return &demo{srv: srv}
}

// step returns the demo's Step: each call changes one agent, and every
// dropEach-th call (0: never) drops every socket instead and then changes
// two agents while no socket is open, changes that the client learns only
// from its snapshots.
func (d *demo) step(dropEach int) func(n int) {
	return func(n int) {
		if dropEach > 0 && n%dropEach == dropEach-1 {
			d.srv.DropAll()
			i := rand.IntN(len(demoAgents))
			d.change(demoAgents[i].ID)
			d.change(demoAgents[(i+1)%len(demoAgents)].ID)
			return
		}
		d.change(demoAgents[rand.IntN(len(demoAgents))].ID)
	}
}

// change moves user id to another routing status, if it is on queue and
// mostly, or else to another presence, with the routing status that goes
// with it.
func (d *demo) change(id string) {
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
