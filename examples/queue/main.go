// Command queue shows, per queue, the conversations waiting and interacting
// and the agents on queue as they change, with a status line that tells
// whether the stream is connected, reconnecting, or just recovered from a
// gap (after which it reads the counts again).
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service; name the queues by id, optionally with a label:
//
//	go run ./examples/queue fd17a7c2-…=Support 0a1b2c3d-…
//
// With none of them set it runs in demo mode: an embedded fake server
// (package notifytest) publishes observations of three busy queues and
// drops the connection every few seconds:
//
//	go run ./examples/queue
//
// queue -h tells more.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

const usage = `usage: queue [-plain] [-drop-every duration] [queue-id[=name] ...]

queue shows, per queue, the conversations waiting and interacting (in all
and by media type) and the agents on queue, as they change. On a terminal it
redraws a table under a status line; otherwise (or with -plain) it prints
one line per change. After every reconnect it reads the counts again, since
Genesys Cloud keeps no events for a closed socket.

Environment:
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant and the
                                            analytics:queueObservation:view
                                            permission
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

With all three set, queue shows the queues named as arguments (a queue id,
optionally =name). With none set it runs in demo mode: an embedded fake
server plays three busy queues and drops the connection every -drop-every;
queues cannot be named then. Ctrl-C stops it.

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
		err = errors.New("name at least one queue: id or id=name")
	case !live && flag.NArg() > 0:
		err = errors.New("queues are shown from Genesys Cloud only: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT, or name none for the demo")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "queue: %v\n", err)
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("queue: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var (
		c       *notify.Client
		queues  []*queue
		refresh func(context.Context, []*queue) error // sets the queues' counts to their current values
		title   = "Queues"
	)
	if live {
		for _, arg := range flag.Args() {
			id, name, _ := strings.Cut(arg, "=")
			queues = append(queues, newQueue(id, name))
		}
		ts := notify.ClientCredentials(ctx, creds.Environment, creds.ClientID, creds.ClientSecret)
		c, err = notify.New(ts, notify.WithEnvironment(creds.Environment))
		refresh = restRefresher(oauth2.NewClient(ctx, oauth2.ReuseTokenSource(nil, ts)), "https://api."+creds.Environment)
	} else {
		fmt.Fprintln(os.Stderr, "demo mode: no credentials, using the embedded fake server")
		srv := notifytest.NewServer(notifytest.Config{})
		defer srv.Close() // after c.Close, deferred below
		d := newDemo()
		go srv.RunDemo(ctx, notifytest.Demo{Tick: 150 * time.Millisecond, DropEvery: *dropEvery, Step: func(n int) { d.step(srv, n) }})
		queues, refresh, title = d.queues(), d.refresh, title+" (demo)"
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "demo"}) // any token; TODO: srv.TokenSource()
		c, err = notify.New(ts, notify.WithAPIBaseURL(srv.URL()), notify.WithBackoff(200*time.Millisecond, 2*time.Second))
	}
	if err == nil {
		defer c.Close()
		table := func() [][]string { return rows(queues) }
		screen := notifytest.NewScreen(os.Stdout, !*plain && notifytest.Terminal(os.Stdout), title, table)
		err = show(ctx, c, screen, queues, refresh)
	}
	if err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// queue is one row of the table.
type queue struct {
	ID, Name    string
	Waiting     map[string]int // oWaiting by media type
	Interacting map[string]int // oInteracting by media type
	OnQueue     int            // oOnQueueUsers, all routing statuses
	HasOnQueue  bool
	Updated     time.Time
}

func newQueue(id, name string) *queue {
	return &queue{ID: id, Name: name, Waiting: map[string]int{}, Interacting: map[string]int{}}
}

// apply takes the metrics present in o: a notification may carry only the
// metrics that changed, and the aggregates on the same topic carry none of
// these. It reports whether a count changed.
func (q *queue) apply(o notify.QueueObservation) bool {
	changed := false
	media := o.Group.MediaType
	if n, ok := o.Count("oWaiting"); ok {
		changed = changed || n != q.Waiting[media]
		q.Waiting[media] = n
	}
	if n, ok := o.Count("oInteracting"); ok {
		changed = changed || n != q.Interacting[media]
		q.Interacting[media] = n
	}
	if n, ok := o.Count("oOnQueueUsers"); ok {
		changed = changed || n != q.OnQueue || !q.HasOnQueue
		q.OnQueue, q.HasOnQueue = n, true
	}
	if changed {
		q.Updated = time.Now()
	}
	return changed
}

// rows returns the table of the queues, its header first: a row per
// queue, and under it a row per media type that has conversations.
func rows(queues []*queue) [][]string {
	rows := [][]string{{"QUEUE", "WAITING", "INTERACTING", "ON QUEUE", "UPDATED"}}
	for _, q := range queues {
		updated := "-"
		if !q.Updated.IsZero() {
			updated = q.Updated.Format("15:04:05")
		}
		rows = append(rows, []string{q.label(), strconv.Itoa(total(q.Waiting)), strconv.Itoa(total(q.Interacting)), q.onQueue(), updated})
		for _, m := range q.media() {
			rows = append(rows, []string{"  " + m, strconv.Itoa(q.Waiting[m]), strconv.Itoa(q.Interacting[m]), "", ""})
		}
	}
	return rows
}

// show subscribes c to the queues' observations and shows their changes
// on v until ctx ends or Run fails. It reads the counts with refresh on the
// first connection and after every gap.
func show(ctx context.Context, c *notify.Client, v *notifytest.Screen, queues []*queue, refresh func(context.Context, []*queue) error) error {
	// changed shows a change of q; why is "update" or "refresh".
	changed := func(q *queue, why string) {
		v.Change("%-7s %q waiting=%d interacting=%d onQueue=%s", why, q.label(), total(q.Waiting), total(q.Interacting), q.onQueue())
	}
	byID := map[string]*queue{}
	var topics []string
	for _, q := range queues {
		byID[q.ID] = q
		topics = append(topics, notify.QueueObservationsTopic(q.ID))
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
			// Genesys keeps nothing for a closed socket: read the counts
			// now, on the first connection and after every gap.
			status := "connected"
			if ev.Gap {
				status += fmt.Sprintf(" after a %s gap", ev.Downtime.Round(time.Millisecond))
			}
			if err := refresh(ctx, queues); err != nil {
				log.Printf("reading the counts: %v", err)
				status += ": could not read the counts"
			} else {
				for _, q := range queues {
					changed(q, "refresh")
				}
				if ev.Gap {
					status += ": counts read again"
				}
			}
			v.Status(status)
		case notify.Disconnected:
			v.Status(fmt.Sprintf("reconnecting in %s: %v", ev.RetryIn.Round(time.Millisecond), ev.Err))
		case notify.Rejected:
			v.Status(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.Status(fmt.Sprintf("fell behind: %d updates dropped", ev.Count))
		case notify.Notification:
			o, err := notify.Decode[notify.QueueObservation](ev)
			if err != nil {
				log.Print(err)
				break
			}
			id := o.Group.QueueID
			if id == "" {
				id, _ = notify.TopicID(ev.Topic)
			}
			if q := byID[id]; q != nil && q.apply(o) {
				changed(q, "update")
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

func (q *queue) label() string {
	if q.Name != "" {
		return q.Name
	}
	return q.ID
}

func (q *queue) onQueue() string {
	if !q.HasOnQueue {
		return "-"
	}
	return strconv.Itoa(q.OnQueue)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// media returns the media types that have conversations waiting or
// interacting, sorted.
func (q *queue) media() []string {
	var media []string
	seen := map[string]bool{}
	for _, counts := range []map[string]int{q.Waiting, q.Interacting} {
		for m, n := range counts {
			if n > 0 && !seen[m] {
				seen[m] = true
				media = append(media, m)
			}
		}
	}
	slices.Sort(media)
	return media
}

// restRefresher loads the counts with the Genesys Cloud observation query,
// with hc, which adds the bearer token. Its results decode into
// notify.QueueObservation like the notifications do.
func restRefresher(hc *http.Client, base string) func(context.Context, []*queue) error {
	return func(ctx context.Context, queues []*queue) error {
		type predicate struct {
			Dimension string `json:"dimension"`
			Value     string `json:"value"`
		}
		var query struct {
			Filter struct {
				Type       string      `json:"type"`
				Predicates []predicate `json:"predicates"`
			} `json:"filter"`
			Metrics []string `json:"metrics"`
		}
		query.Filter.Type = "or"
		for _, q := range queues {
			query.Filter.Predicates = append(query.Filter.Predicates, predicate{"queueId", q.ID})
		}
		query.Metrics = []string{"oWaiting", "oInteracting", "oOnQueueUsers"}
		body, err := json.Marshal(query)
		if err != nil {
			return err
		}
		const path = "/api/v2/analytics/queues/observations/query"
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST %s: %s", path, resp.Status)
		}
		var answer struct{ Results []notify.QueueObservation }
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return err
		}
		replace(queues, answer.Results)
		return nil
	}
}

// replace sets the counts of queues to those of results.
func replace(queues []*queue, results []notify.QueueObservation) {
	for _, q := range queues {
		clear(q.Waiting)
		clear(q.Interacting)
		for _, o := range results {
			if o.Group.QueueID == q.ID {
				q.apply(o)
			}
		}
	}
}

// demo is the true state of a few busy queues whose conversations arrive,
// are answered and end on every step. It publishes observations as Genesys
// does (only the metrics that changed, agents apart from conversations,
// now and then a 30-minute aggregate); the server drops every socket now
// and then, so updates are lost while the client reconnects: after the
// gap, refresh reads the true counts, as a real program would with the
// observation query.
type demo struct {
	mu    sync.Mutex
	truth []*demoQueue
}

// demoQueue is the true state of a demo queue. Each media type keeps at
// least one conversation waiting and one interacting, and the agents on
// queue only move between IDLE and INTERACTING, so their number is fixed.
type demoQueue struct {
	id, name    string
	waiting     map[string]int
	interacting map[string]int
	idle        int // agents on queue and IDLE; the others are INTERACTING
}

var demoMedia = []string{"voice", "chat", "message"}

func newDemo() *demo {
	return &demo{truth: []*demoQueue{
		{id: "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b", name: "Support",
			waiting: map[string]int{"voice": 3, "chat": 1, "message": 2}, interacting: map[string]int{"voice": 3, "chat": 1, "message": 1}, idle: 4},
		{id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", name: "Sales",
			waiting: map[string]int{"voice": 1, "chat": 2, "message": 1}, interacting: map[string]int{"voice": 2, "chat": 1, "message": 1}, idle: 2},
		{id: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", name: "Billing",
			waiting: map[string]int{"voice": 1, "chat": 1, "message": 1}, interacting: map[string]int{"voice": 1, "chat": 1, "message": 1}, idle: 1},
	}}
}

// step makes a conversation arrive, be answered or end, and publishes the
// observations that changed.
func (d *demo) step(srv *notifytest.Server, i int) {
	now := time.Now().UTC()
	instant := now.Format("2006-01-02T15:04:05.000Z07:00")
	metric := func(name string, count int) notify.ObservationMetric {
		return notify.ObservationMetric{Metric: name, Stats: notify.ObservationStats{Count: count}}
	}

	d.mu.Lock()
	q := d.truth[rand.IntN(len(d.truth))]
	media := demoMedia[rand.IntN(len(demoMedia))]
	var changed []notify.ObservationMetric
	agents := false
	switch rand.IntN(3) {
	case 0: // a conversation arrives
		q.waiting[media]++
		changed = append(changed, metric("oWaiting", q.waiting[media]))
	case 1: // an idle agent answers a waiting one
		if q.waiting[media] > 1 && q.idle > 0 {
			q.waiting[media]--
			q.interacting[media]++
			q.idle--
			changed = append(changed, metric("oWaiting", q.waiting[media]), metric("oInteracting", q.interacting[media]))
			agents = true
		}
	case 2: // one ends
		if q.interacting[media] > 1 {
			q.interacting[media]--
			q.idle++
			changed = append(changed, metric("oInteracting", q.interacting[media]))
			agents = true
		}
	}
	users := []notify.ObservationMetric{
		{Metric: "oOnQueueUsers", Qualifier: "IDLE", Stats: notify.ObservationStats{Count: q.idle}},
		{Metric: "oOnQueueUsers", Qualifier: "INTERACTING", Stats: notify.ObservationStats{Count: total(q.interacting)}},
	}
	d.mu.Unlock()

	topic := notify.QueueObservationsTopic(q.id)
	if len(changed) > 0 {
		srv.Publish(topic, notify.QueueObservation{
			Group: notify.ObservationGroup{QueueID: q.id, MediaType: media},
			Data:  []notify.ObservationData{{Interval: instant + "/" + instant, Metrics: changed}},
		})
	}
	if agents {
		srv.Publish(topic, notify.QueueObservation{
			Group: notify.ObservationGroup{QueueID: q.id},
			Data:  []notify.ObservationData{{Interval: instant + "/" + instant, Metrics: users}},
		})
	}
	if i%7 == 0 { // the 30-minute aggregates share the topic
		start := now.Truncate(30 * time.Minute)
		srv.Publish(topic, notify.QueueObservation{
			Group: notify.ObservationGroup{QueueID: q.id, MediaType: "voice"},
			Data: []notify.ObservationData{{
				Interval: start.Format(time.RFC3339) + "/" + start.Add(30*time.Minute).Format(time.RFC3339),
				Metrics: []notify.ObservationMetric{
					{Metric: "nOffered", Stats: notify.ObservationStats{Count: 40 + i}},
					{Metric: "tAnswered", Stats: notify.ObservationStats{Count: 35 + i, Sum: 612000, Min: 2100, Max: 48000}},
				},
			}},
		})
	}
}

// queues returns the rows of the table, knowing only ids and names.
func (d *demo) queues() []*queue {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*queue, len(d.truth))
	for i, t := range d.truth {
		out[i] = newQueue(t.id, t.name)
	}
	return out
}

// refresh stands in for the observation query of restRefresher, answering
// in its shape.
func (d *demo) refresh(_ context.Context, queues []*queue) error {
	d.mu.Lock()
	var results []notify.QueueObservation
	for _, t := range d.truth {
		for _, m := range demoMedia {
			results = append(results, notify.QueueObservation{
				Group: notify.ObservationGroup{QueueID: t.id, MediaType: m},
				Data: []notify.ObservationData{{Metrics: []notify.ObservationMetric{
					{Metric: "oWaiting", Stats: notify.ObservationStats{Count: t.waiting[m]}},
					{Metric: "oInteracting", Stats: notify.ObservationStats{Count: t.interacting[m]}},
				}}},
			})
		}
		results = append(results, notify.QueueObservation{
			Group: notify.ObservationGroup{QueueID: t.id},
			Data: []notify.ObservationData{{Metrics: []notify.ObservationMetric{
				{Metric: "oOnQueueUsers", Qualifier: "IDLE", Stats: notify.ObservationStats{Count: t.idle}},
				{Metric: "oOnQueueUsers", Qualifier: "INTERACTING", Stats: notify.ObservationStats{Count: total(t.interacting)}},
			}}},
		})
	}
	d.mu.Unlock()
	replace(queues, results)
	return nil
}
