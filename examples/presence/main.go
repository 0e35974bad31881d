// Command presence shows a live table of agents' presence and routing
// status, with a status line that tells whether the stream is connected,
// reconnecting, or just recovered from a gap (after which it reads every
// agent's state again).
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service; name the users by id, optionally with a label:
//
//	go run ./examples/presence 3b5e0f7a-…=Ada 8f0e6a2b-…
//
// With none of them set it runs in demo mode: an embedded fake server
// (package notifytest) publishes changes of four agents and drops the
// connection every few seconds:
//
//	go run ./examples/presence
//
// presence -h tells more.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

const usage = `usage: presence [-plain] [-drop-every duration] [user-id[=name] ...]

presence shows the presence and routing status of agents as they change. On
a terminal it redraws a table under a status line; otherwise (or with
-plain) it prints one line per change. After every reconnect it reads each
agent's state again, since Genesys Cloud keeps no events for a closed
socket.

Environment:
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant, allowed to
                                            read users' presence and routing
                                            status
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

With all three set, presence shows the users named as arguments (a user id,
optionally =name). With none set it runs in demo mode: an embedded fake
server plays four agents and drops the connection every -drop-every; users
cannot be named then. Ctrl-C stops it.

Flags:
`

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
		c       *notify.Client
		agents  []*agent
		refresh func(context.Context, *agent) error // loads an agent's current state
		title   = "Agents"
	)
	if live {
		for _, arg := range flag.Args() {
			id, name, _ := strings.Cut(arg, "=")
			agents = append(agents, &agent{ID: id, Name: name})
		}
		ts := notify.ClientCredentials(ctx, creds.Environment, creds.ClientID, creds.ClientSecret)
		c, err = notify.New(ts, notify.WithEnvironment(creds.Environment))
		refresh = restRefresher(oauth2.NewClient(ctx, oauth2.ReuseTokenSource(nil, ts)), "https://api."+creds.Environment)
	} else {
		fmt.Fprintln(os.Stderr, "demo mode: no credentials, using the embedded fake server")
		srv := notifytest.NewServer(notifytest.Config{})
		defer srv.Close() // after c.Close, deferred below
		d := newDemo()
		go srv.RunDemo(ctx, notifytest.Demo{Tick: 250 * time.Millisecond, DropEvery: *dropEvery, Step: func(int) { d.step(srv) }})
		agents, refresh, title = d.agents(), d.refresh, title+" (demo)"
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "demo"}) // any token; TODO: srv.TokenSource()
		c, err = notify.New(ts, notify.WithAPIBaseURL(srv.URL()), notify.WithBackoff(200*time.Millisecond, 2*time.Second))
	}
	if err == nil {
		defer c.Close()
		table := func() [][]string { return rows(agents) }
		screen := notifytest.NewScreen(os.Stdout, !*plain && notifytest.Terminal(os.Stdout), title, table)
		err = show(ctx, c, screen, agents, refresh)
	}
	if err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// agent is one row of the table.
type agent struct {
	ID, Name      string
	Presence      string // system presence, such as "On Queue"
	PresenceSince time.Time
	Routing       string // routing status, such as "IDLE"
	RoutingSince  time.Time
}

// rows returns the table of the agents, its header first.
func rows(agents []*agent) [][]string {
	rows := [][]string{{"AGENT", "PRESENCE", "SINCE", "ROUTING", "SINCE"}}
	for _, a := range agents {
		rows = append(rows, []string{a.label(), orDash(a.Presence), clock(a.PresenceSince), orDash(a.Routing), clock(a.RoutingSince)})
	}
	return rows
}

// show subscribes c to the agents' topics and shows their changes on v
// until ctx ends or Run fails. It loads every agent with refresh on the
// first connection and after every gap.
func show(ctx context.Context, c *notify.Client, v *notifytest.Screen, agents []*agent, refresh func(context.Context, *agent) error) error {
	// changed shows a change of a; why is "presence", "routing" or "refresh".
	changed := func(a *agent, why string) {
		v.Change("%-8s %q %s, %s", why, a.label(), orDash(a.Presence), orDash(a.Routing))
	}
	presenceOf, routingOf := map[string]*agent{}, map[string]*agent{}
	var topics []string
	for _, a := range agents {
		presenceOf[notify.UserPresenceTopic(a.ID)] = a
		routingOf[notify.UserRoutingStatusTopic(a.ID)] = a
		topics = append(topics, notify.UserPresenceTopic(a.ID), notify.UserRoutingStatusTopic(a.ID))
	}
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	v.Status("connecting")
	for ev := range c.Events() { // closed when Run returns
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: load the state now,
			// on the first connection and after every gap.
			failed := 0
			for _, a := range agents {
				if err := refresh(ctx, a); err != nil {
					failed++
					log.Printf("reading %s: %v", a.ID, err)
					continue
				}
				changed(a, "refresh")
			}
			status := "connected"
			if ev.Gap {
				status += fmt.Sprintf(" after a %s gap", ev.Downtime.Round(time.Millisecond))
			}
			if failed > 0 {
				status += fmt.Sprintf(": could not read %d agents", failed)
			} else if ev.Gap {
				status += ": agents read again"
			}
			v.Status(status)
		case notify.Disconnected:
			v.Status(fmt.Sprintf("reconnecting in %s: %v", ev.RetryIn.Round(time.Millisecond), ev.Err))
		case notify.Rejected:
			v.Status(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.Status(fmt.Sprintf("fell behind: %d changes dropped", ev.Count))
		case notify.Notification:
			if a := presenceOf[ev.Topic]; a != nil {
				p, err := notify.Decode[notify.UserPresence](ev)
				if err != nil {
					log.Print(err)
				} else if !p.ModifiedDate.Before(a.PresenceSince) { // not older than a refresh
					a.Presence, a.PresenceSince = p.PresenceDefinition.SystemPresence, p.ModifiedDate
					changed(a, "presence")
				}
			} else if a := routingOf[ev.Topic]; a != nil {
				s, err := notify.Decode[notify.UserRoutingStatus](ev)
				if err != nil {
					log.Print(err)
				} else if !s.RoutingStatus.StartTime.Before(a.RoutingSince) {
					a.Routing, a.RoutingSince = s.RoutingStatus.Status, s.RoutingStatus.StartTime
					changed(a, "routing")
				}
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

func (a *agent) label() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
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

// restRefresher loads agents over the Genesys Cloud REST API with hc, which
// adds the bearer token.
func restRefresher(hc *http.Client, base string) func(context.Context, *agent) error {
	get := func(ctx context.Context, path string, v any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return json.NewDecoder(resp.Body).Decode(v)
	}
	return func(ctx context.Context, a *agent) error {
		user := "/api/v2/users/" + url.PathEscape(a.ID)
		if a.Name == "" {
			var u struct{ Name string }
			if err := get(ctx, user, &u); err != nil {
				return err
			}
			a.Name = u.Name
		}
		var p notify.UserPresence
		if err := get(ctx, user+"/presences/purecloud", &p); err != nil {
			return err
		}
		var s notify.RoutingStatus
		if err := get(ctx, user+"/routingstatus", &s); err != nil {
			return err
		}
		a.Presence, a.PresenceSince = p.PresenceDefinition.SystemPresence, p.ModifiedDate
		a.Routing, a.RoutingSince = s.Status, s.StartTime
		return nil
	}
}

// demo is the true state of a few agents whose presence and routing status
// change on every step. It publishes each change as Genesys would; the
// server drops every socket now and then, so changes are lost while the
// client reconnects: after the gap, refresh reads the agents' true state,
// as a real program would over REST.
type demo struct {
	mu    sync.Mutex
	truth []agent
}

// The presence definitions of the demo organization.
var demoPresences = []notify.PresenceDefinition{
	{ID: "6a3af858-942f-489d-9700-5f9bcdcdae9b", SystemPresence: "Available"},
	{ID: "e08eaf1b-ee47-4fa9-a231-1200e284798f", SystemPresence: "On Queue"},
	{ID: "31fe3bac-dea6-44b7-bed7-47f91660a1a0", SystemPresence: "Busy"},
	{ID: "5e5c5c66-ea97-4e7f-ac41-6424784829f2", SystemPresence: "Away"},
	{ID: "a1a5b6e8-7bb4-4bd6-9e2f-1c0a9d3e8f01", SystemPresence: "Break"},
	{ID: "3fd96123-badb-4f69-bc03-1b1ccc6d8014", SystemPresence: "Meal"},
	{ID: "c8b2e5d4-0f3a-4c1b-9d7e-6a5b4c3d2e1f", SystemPresence: "Meeting"},
}

var demoRouting = []string{"IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"}

func newDemo() *demo {
	start := time.Now().UTC().Truncate(time.Millisecond)
	d := &demo{truth: []agent{
		{ID: "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b", Name: "Ada Lovelace", Presence: "On Queue", Routing: "IDLE"},
		{ID: "8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f", Name: "Grace Hopper", Presence: "Available", Routing: "OFF_QUEUE"},
		{ID: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", Name: "Alan Turing", Presence: "On Queue", Routing: "INTERACTING"},
		{ID: "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f70", Name: "Katherine Johnson", Presence: "Meeting", Routing: "OFF_QUEUE"},
	}}
	for i := range d.truth {
		d.truth[i].PresenceSince, d.truth[i].RoutingSince = start, start
	}
	return d
}

// step changes one agent and publishes what changed on srv.
func (d *demo) step(srv *notifytest.Server) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	d.mu.Lock()
	a := &d.truth[rand.IntN(len(d.truth))]
	oldPresence, oldRouting := a.Presence, a.Routing
	var def notify.PresenceDefinition
	if a.Presence == "On Queue" && rand.IntN(3) > 0 {
		a.Routing = demoRouting[rand.IntN(len(demoRouting))]
	} else {
		for a.Presence == oldPresence {
			def = demoPresences[rand.IntN(len(demoPresences))]
			a.Presence = def.SystemPresence
		}
		a.Routing = "OFF_QUEUE"
		if a.Presence == "On Queue" {
			a.Routing = "IDLE"
		}
	}
	if a.Presence != oldPresence {
		a.PresenceSince = now
	}
	if a.Routing != oldRouting {
		a.RoutingSince = now
	}
	snap := *a
	d.mu.Unlock()

	if snap.Presence != oldPresence {
		srv.Publish(notify.UserPresenceTopic(snap.ID), notify.UserPresence{
			Source:             "PURECLOUD",
			PresenceDefinition: def,
			Primary:            true,
			ModifiedDate:       now,
		})
	}
	if snap.Routing != oldRouting {
		srv.Publish(notify.UserRoutingStatusTopic(snap.ID), notify.UserRoutingStatus{
			ID:            snap.ID,
			RoutingStatus: notify.RoutingStatus{Status: snap.Routing, StartTime: now},
		})
	}
}

// agents returns the rows of the table, knowing only ids and names.
func (d *demo) agents() []*agent {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*agent, len(d.truth))
	for i, a := range d.truth {
		out[i] = &agent{ID: a.ID, Name: a.Name}
	}
	return out
}

// refresh stands in for the REST calls of restRefresher.
func (d *demo) refresh(_ context.Context, a *agent) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.truth {
		if t.ID == a.ID {
			*a = t
			return nil
		}
	}
	return fmt.Errorf("no user %s", a.ID)
}
