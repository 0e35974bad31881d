// Command queue shows, per queue, the conversations waiting and interacting
// and the agents on queue, redrawn in the terminal whenever they change,
// with a status line that tells whether the stream is connected,
// reconnecting, or just recovered from a gap (after which it refreshes).
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service; name the queues by id, optionally with a label:
//
//	go run ./examples/queue fd17a7c2-…=Support 0a1b2c3d-…
//
// The OAuth client needs the analytics queue observation permission.
// Without credentials it starts an embedded fake server (package
// notifytest) that publishes synthetic observations and drops the
// connection every few seconds:
//
//	go run ./examples/queue
//
// -plain prints one line per change instead of redrawing; -for stops after
// a while. Ctrl-C ends it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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

// refresher replaces the counts of the queues with their current values:
// over REST from Genesys Cloud, or from the demo's state.
type refresher func(ctx context.Context, queues []*queue) error

// run shows the queues named by args (id or id=name) until ctx ends.
func run(ctx context.Context, w io.Writer, args []string, plain bool, dropEvery time.Duration) error {
	clientID, secret, env := os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"), os.Getenv("GENESYS_ENVIRONMENT")
	var (
		c       *notify.Client
		queues  []*queue
		refresh refresher
		err     error
	)
	if clientID != "" && secret != "" && env != "" {
		if len(args) == 0 {
			return errors.New("queue: name at least one queue id (id or id=name)")
		}
		for _, arg := range args {
			id, name, _ := strings.Cut(arg, "=")
			queues = append(queues, newQueue(id, name))
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
		c, queues, refresh = d.client, d.queues(), d.refresh
	}
	if err != nil {
		return err
	}
	defer c.Close()

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

	v := newScreen(w, plain, queues)
	v.Status("connecting")
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: load the counts
			// now, on the first connection and after every gap.
			status := "connected"
			if err := refresh(ctx, queues); err != nil {
				log.Printf("refreshing: %v", err)
				status += " · could not load the counts"
				if ev.Gap {
					status = "connected · gap: data may be stale, refresh failed"
				}
			} else {
				for _, q := range queues {
					changed(v, q, "refresh")
				}
				if ev.Gap {
					status += fmt.Sprintf(" · gap: data may be stale, refreshed (down %s)", ev.Downtime.Round(time.Millisecond))
				}
			}
			v.Status(status)
		case notify.Disconnected:
			v.Status(fmt.Sprintf("reconnecting in %s: %v", ev.RetryIn.Round(time.Millisecond), ev.Err))
		case notify.Rejected:
			v.Status(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.Status(fmt.Sprintf("fell behind: %d updates dropped, data may be stale", ev.Count))
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
				changed(v, q, "update")
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

// newScreen shows queues on w.
func newScreen(w io.Writer, plain bool, queues []*queue) *screen.Screen {
	return screen.New(w, plain, "Queues", func(tw io.Writer) {
		fmt.Fprintln(tw, "QUEUE\tWAITING\tINTERACTING\tON QUEUE\tBY MEDIA (waiting/interacting)\tUPDATED")
		for _, q := range queues {
			updated := "-"
			if !q.Updated.IsZero() {
				updated = q.Updated.Format("15:04:05")
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", q.label(), total(q.Waiting), total(q.Interacting),
				q.onQueue(), byMedia(q), updated)
		}
	})
}

// changed shows a change of q; why is "update" or "refresh".
func changed(v *screen.Screen, q *queue, why string) {
	v.Changed(why == "refresh", "%-7s %q waiting=%d interacting=%d onQueue=%s",
		why, q.label(), total(q.Waiting), total(q.Interacting), q.onQueue())
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

// byMedia lists the nonzero counts by media type, such as "voice 2/3 chat 0/1".
func byMedia(q *queue) string {
	var media []string
	for m := range q.Waiting {
		media = append(media, m)
	}
	for m := range q.Interacting {
		if !slices.Contains(media, m) {
			media = append(media, m)
		}
	}
	slices.Sort(media)
	var parts []string
	for _, m := range media {
		if q.Waiting[m]+q.Interacting[m] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d/%d", m, q.Waiting[m], q.Interacting[m]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// restRefresher loads the counts with the Genesys Cloud observation query,
// with hc, which adds the bearer token. Its results decode into
// notify.QueueObservation like the notifications do.
func restRefresher(hc *http.Client, base string) refresher {
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

// demo is an embedded fake server with a few busy queues whose
// conversations arrive, are answered and end every 150ms, and a client for
// it. It publishes observations as Genesys does (only the metrics that
// changed, agents apart from conversations, now and then a 30-minute
// aggregate), and the server drops every socket now and then, so updates
// are lost while the client reconnects: after the gap, refresh reads the
// true counts, as a real program would with the observation query.
type demo struct {
	client *notify.Client
	stop   func() // ends the feed and closes the server

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

// startDemo starts the demo; it stops when ctx ends or on stop.
func startDemo(ctx context.Context, dropEvery time.Duration) (*demo, error) {
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: time.Second})
	d := &demo{truth: []*demoQueue{
		{id: "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b", name: "Support",
			waiting: map[string]int{"voice": 3, "chat": 1, "message": 2}, interacting: map[string]int{"voice": 3, "chat": 1, "message": 1}, idle: 4},
		{id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", name: "Sales",
			waiting: map[string]int{"voice": 1, "chat": 2, "message": 1}, interacting: map[string]int{"voice": 2, "chat": 1, "message": 1}, idle: 2},
		{id: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", name: "Billing",
			waiting: map[string]int{"voice": 1, "chat": 1, "message": 1}, interacting: map[string]int{"voice": 1, "chat": 1, "message": 1}, idle: 1},
	}}
	c, err := demofeed.Client(srv)
	if err != nil {
		srv.Close()
		return nil, err
	}
	d.client = c
	d.stop = demofeed.Feed(ctx, srv, 150*time.Millisecond, dropEvery, func(i int) { d.step(srv, i) })
	return d, nil
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
