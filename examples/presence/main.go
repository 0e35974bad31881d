// Command presence shows a live table of agents' presence and routing
// status, redrawn in the terminal whenever something changes, with a status
// line that tells whether the stream is connected, reconnecting, or just
// recovered from a gap (after which it refreshes the table).
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service; name the users by id, optionally with a label:
//
//	go run ./examples/presence 3b5e0f7a-…=Ada 8f0e6a2b-…
//
// The OAuth client needs presence and routing-status read permissions.
// Without credentials it starts an embedded fake server (package
// notifytest) that publishes synthetic changes and drops the connection
// every few seconds:
//
//	go run ./examples/presence
//
// -plain prints one line per change instead of redrawing; -for stops after
// a while. Ctrl-C ends it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
	"github.com/gcnotify/notify/examples/internal/demofeed"
	"github.com/gcnotify/notify/examples/internal/screen"
	"github.com/gcnotify/notify/notifytest"
)

func main() {
	dur := flag.Duration("for", 0, "stop after this long (default: until interrupted)")
	plain := flag.Bool("plain", false, "print one line per change instead of redrawing the table")
	dropEvery := flag.Duration("drop-every", 3*time.Second, "with the fake server: how often it drops the connection")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	if err := run(ctx, os.Stdout, flag.Args(), *plain, *dropEvery); err != nil {
		log.Fatal(err)
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

// refresher loads the current state of an agent: over REST from Genesys
// Cloud, or from the demo's state.
type refresher func(ctx context.Context, a *agent) error

// run shows the agents named by args (id or id=name) until ctx ends.
func run(ctx context.Context, w io.Writer, args []string, plain bool, dropEvery time.Duration) error {
	clientID, secret, env := os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"), os.Getenv("GENESYS_ENVIRONMENT")
	var (
		c       *notify.Client
		agents  []*agent
		refresh refresher
		err     error
	)
	if clientID != "" && secret != "" && env != "" {
		if len(args) == 0 {
			return errors.New("presence: name at least one user id (id or id=name)")
		}
		for _, arg := range args {
			id, name, _ := strings.Cut(arg, "=")
			agents = append(agents, &agent{ID: id, Name: name})
		}
		ts := notify.ClientCredentials(ctx, env, clientID, secret)
		c, err = notify.New(ts, notify.WithEnvironment(env))
		refresh = restRefresher(oauth2.NewClient(ctx, oauth2.ReuseTokenSource(nil, ts)), "https://api."+env)
	} else {
		var d *demo
		d, err = startDemo(ctx, dropEvery)
		if err != nil {
			return err
		}
		defer d.stop() // after c.Close, deferred below
		c, agents, refresh = d.client, d.agents(), d.refresh
	}
	if err != nil {
		return err
	}
	defer c.Close()

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

	v := newScreen(w, plain, agents)
	v.Status("connecting")
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: load the state now,
			// on the first connection and after every gap.
			failed := 0
			for _, a := range agents {
				if err := refresh(ctx, a); err != nil {
					failed++
					log.Printf("refreshing %s: %v", a.ID, err)
					continue
				}
				changed(v, a, "refresh")
			}
			status := "connected"
			switch {
			case ev.Gap && failed > 0:
				status += fmt.Sprintf(" · gap: data may be stale, refresh failed for %d agents", failed)
			case ev.Gap:
				status += fmt.Sprintf(" · gap: data may be stale, refreshed (down %s)", ev.Downtime.Round(time.Millisecond))
			case failed > 0:
				status += fmt.Sprintf(" · could not load %d agents", failed)
			}
			v.Status(status)
		case notify.Disconnected:
			v.Status(fmt.Sprintf("reconnecting in %s: %v", ev.RetryIn.Round(time.Millisecond), ev.Err))
		case notify.Rejected:
			v.Status(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.Status(fmt.Sprintf("fell behind: %d changes dropped, data may be stale", ev.Count))
		case notify.Notification:
			if a := presenceOf[ev.Topic]; a != nil {
				p, err := notify.Decode[notify.UserPresence](ev)
				if err != nil {
					log.Print(err)
				} else if !p.ModifiedDate.Before(a.PresenceSince) { // not older than a refresh
					a.Presence, a.PresenceSince = p.PresenceDefinition.SystemPresence, p.ModifiedDate
					changed(v, a, "presence")
				}
			} else if a := routingOf[ev.Topic]; a != nil {
				s, err := notify.Decode[notify.UserRoutingStatus](ev)
				if err != nil {
					log.Print(err)
				} else if !s.RoutingStatus.StartTime.Before(a.RoutingSince) {
					a.Routing, a.RoutingSince = s.RoutingStatus.Status, s.RoutingStatus.StartTime
					changed(v, a, "routing")
				}
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
	}
	if err := <-runErr; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// newScreen shows agents on w.
func newScreen(w io.Writer, plain bool, agents []*agent) *screen.Screen {
	return screen.New(w, plain, "Agents", func(tw io.Writer) {
		fmt.Fprintln(tw, "AGENT\tPRESENCE\tSINCE\tROUTING\tSINCE")
		for _, a := range agents {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.label(), orDash(a.Presence), clock(a.PresenceSince),
				orDash(a.Routing), clock(a.RoutingSince))
		}
	})
}

// changed shows a change of a; why is "presence", "routing" or "refresh".
func changed(v *screen.Screen, a *agent, why string) {
	v.Changed(why == "refresh", "%-8s %q presence=%q since %s, routing=%q since %s",
		why, a.label(), a.Presence, clock(a.PresenceSince), a.Routing, clock(a.RoutingSince))
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
func restRefresher(hc *http.Client, base string) refresher {
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

// demo is an embedded fake server with a few agents whose presence and
// routing status change every 250ms, and a client for it. It publishes
// each change as Genesys would, and the server drops every socket now and
// then, so changes are lost while the client reconnects: after the gap,
// refresh reads the agents' true state, as a real program would over REST.
type demo struct {
	client *notify.Client
	stop   func() // ends the feed and closes the server

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

// startDemo starts the demo; it stops when ctx ends or on stop.
func startDemo(ctx context.Context, dropEvery time.Duration) (*demo, error) {
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: time.Second})
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
	c, err := demofeed.Client(srv)
	if err != nil {
		srv.Close()
		return nil, err
	}
	d.client = c
	d.stop = demofeed.Feed(ctx, srv, 250*time.Millisecond, dropEvery, func(i int) { d.step(srv) })
	return d, nil
}

// step changes one agent and publishes what changed.
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
