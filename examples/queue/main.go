// Command queue shows, per queue, the conversations waiting and interacting
// and the agents on queue as they change, with a status line that tells
// whether the stream is connected, reconnecting, or just recovered from a
// gap. The counts are a notify.Mirror of the stream: the client
// (notify.WithSnapshots) reads every queue's observations again after each
// gap and delivers them as snapshots, so the table is right again once the
// status line says "resynced".
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service; name the queues by id, optionally with a label:
//
//	go run ./examples/queue fd17a7c2-…=Support 0a1b2c3d-…
//
// With none of them set it runs in demo mode: an embedded fake server
// (package notifytest) plays three busy queues, and drops the connection
// every few seconds, changing counts while the client is away:
//
//	go run ./examples/queue
//
// queue -h tells more.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"maps"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

const usage = `usage: queue [-plain] [-drop-every duration] [queue-id[=name] ...]

queue shows, per queue, the conversations waiting and interacting (in all
and by media type) and the agents on queue, as they change. On a terminal it
redraws a table under a status line; otherwise (or with -plain) it prints
one line per change. After every reconnect it reads the counts of all the
queues again in one query, since Genesys Cloud keeps no events for a closed
socket, and says "resynced" once the table is right again.

Environment:
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant and the
                                            analytics:queueObservation:view
                                            permission
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

With all three set, queue shows the queues named as arguments (a queue id,
optionally =name). With none set it runs in demo mode: an embedded fake
server plays three busy queues and drops the connection every -drop-every,
changing some counts while it is down; queues cannot be named then. Ctrl-C
stops it.

Flags:
`

// demoTick is how often the demo changes a queue.
const demoTick = 150 * time.Millisecond

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
		c      *notify.Client
		queues []queue
		title  = "Queues"
	)
	if live {
		for _, arg := range flag.Args() {
			id, name, _ := strings.Cut(arg, "=")
			queues = append(queues, queue{ID: id, Name: name})
		}
		ts := notify.ClientCredentials(ctx, creds.Environment, creds.ClientID, creds.ClientSecret)
		c, err = notify.New(ts, notify.WithSnapshots()) // ts names the environment
		// An unknown region is a usage error: say so at once.
		if errors.Is(err, notify.ErrUnknownEnvironment) {
			fmt.Fprintf(os.Stderr, "queue: GENESYS_ENVIRONMENT: %v\n", err)
			stop()
			os.Exit(2)
		}
	} else {
		fmt.Fprintln(os.Stderr, "demo mode: no credentials, using the embedded fake server")
		srv := notifytest.NewServer(notifytest.Config{})
		defer srv.Close() // after c.Close, deferred below
		d := newDemo(srv)
		go srv.RunDemo(ctx, notifytest.Demo{Tick: demoTick, Step: d.step(dropEach(*dropEvery, demoTick))})
		queues, title = demoQueues, title+" (demo)"
		c, err = demoClient(srv)
	}
	if err == nil {
		defer c.Close()
		b := newBoard(queues)
		screen := notifytest.NewScreen(os.Stdout, !*plain && notifytest.Terminal(os.Stdout), title, b.rows)
		err = show(ctx, c, screen, b)
	}
	if err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// queue is one queue the program shows.
type queue struct {
	ID, Name string
}

func (q queue) label() string {
	if q.Name != "" {
		return q.Name
	}
	return q.ID
}

// counts is what the table shows of a queue.
type counts struct {
	Waiting     map[string]int // oWaiting by media type; nil if unknown
	Interacting map[string]int // oInteracting by media type; nil if unknown
	OnQueue     int            // oOnQueueUsers, all routing statuses
	HasOnQueue  bool
}

// countsOf returns the counts of queue id as m holds them. m keeps each
// metric from the latest body that carried it, so a notification with
// only some metrics leaves the others, and the 30-minute aggregates that
// share the topic (nOffered, tAnswered, …) change none of them.
func countsOf(m *notify.Mirror, id string) counts {
	var c counts
	body, ok := m.Body(notify.QueueObservationsTopic(id))
	if !ok {
		return c
	}
	// The Mirror's body of an observation topic has one metric per data
	// entry, each with its group (and so its media type).
	var obs struct {
		Data []struct {
			Group  notify.ObservationGroup
			Metric string
			Stats  notify.ObservationStats
		}
	}
	if err := json.Unmarshal(body, &obs); err != nil {
		return c
	}
	add := func(counts *map[string]int, media string, n int) {
		if *counts == nil {
			*counts = map[string]int{}
		}
		(*counts)[media] += n
	}
	for _, d := range obs.Data {
		switch d.Metric {
		case "oWaiting":
			add(&c.Waiting, d.Group.MediaType, d.Stats.Count)
		case "oInteracting":
			add(&c.Interacting, d.Group.MediaType, d.Stats.Count)
		case "oOnQueueUsers":
			c.OnQueue += d.Stats.Count
			c.HasOnQueue = true
		}
	}
	return c
}

func (c counts) equal(d counts) bool {
	return maps.Equal(c.Waiting, d.Waiting) && maps.Equal(c.Interacting, d.Interacting) &&
		c.OnQueue == d.OnQueue && c.HasOnQueue == d.HasOnQueue
}

// total returns the sum of counts, "-" if they are unknown.
func total(counts map[string]int) string {
	if counts == nil {
		return "-"
	}
	n := 0
	for _, v := range counts {
		n += v
	}
	return strconv.Itoa(n)
}

func (c counts) onQueue() string {
	if !c.HasOnQueue {
		return "-"
	}
	return strconv.Itoa(c.OnQueue)
}

// media returns the media types that have conversations waiting or
// interacting, sorted.
func (c counts) media() []string {
	var media []string
	for _, counts := range []map[string]int{c.Waiting, c.Interacting} {
		for m, n := range counts {
			if n > 0 && !slices.Contains(media, m) {
				media = append(media, m)
			}
		}
	}
	slices.Sort(media)
	return media
}

// A board is what the program shows: the queues, their counts in a Mirror
// and when each changed last. Its methods are safe for concurrent use.
type board struct {
	queues []queue
	m      *notify.Mirror

	mu      sync.Mutex
	updated map[string]time.Time // by queue id
}

func newBoard(queues []queue) *board {
	return &board{queues: queues, m: notify.NewMirror(), updated: map[string]time.Time{}}
}

// rows returns the table of the queues, its header first: a row per
// queue, and under it a row per media type that has conversations.
func (b *board) rows() [][]string {
	rows := [][]string{{"QUEUE", "WAITING", "INTERACTING", "ON QUEUE", "UPDATED"}}
	for _, q := range b.queues {
		c := countsOf(b.m, q.ID)
		updated := "-"
		b.mu.Lock()
		if t := b.updated[q.ID]; !t.IsZero() {
			updated = t.Format("15:04:05")
		}
		b.mu.Unlock()
		rows = append(rows, []string{q.label(), total(c.Waiting), total(c.Interacting), c.onQueue(), updated})
		for _, m := range c.media() {
			rows = append(rows, []string{"  " + m, strconv.Itoa(c.Waiting[m]), strconv.Itoa(c.Interacting[m]), "", ""})
		}
	}
	return rows
}

// show subscribes c to the observations of b's queues, applies their
// notifications and snapshots to b's Mirror and shows the changes on v,
// until ctx ends or Run fails. c must have WithSnapshots: the snapshots
// are what load the counts, on the first connection and after every gap.
func show(ctx context.Context, c *notify.Client, v *notifytest.Screen, b *board) error {
	byTopic := map[string]queue{}
	var topics []string
	for _, q := range b.queues {
		byTopic[notify.QueueObservationsTopic(q.ID)] = q
		topics = append(topics, notify.QueueObservationsTopic(q.ID))
	}
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	// changed shows q if its counts changed; why is "update" or
	// "snapshot".
	shown := map[string]counts{}
	changed := func(q queue, why string) {
		n := countsOf(b.m, q.ID)
		if old, seen := shown[q.ID]; seen && old.equal(n) {
			return
		}
		shown[q.ID] = n
		b.mu.Lock()
		b.updated[q.ID] = time.Now()
		b.mu.Unlock()
		v.Change("%-8s %q waiting=%s interacting=%s onQueue=%s", why, q.label(), total(n.Waiting), total(n.Interacting), n.onQueue())
	}
	// The queues that snapshots changed are shown together once read.
	read := map[string]bool{}
	showRead := func() {
		for _, q := range b.queues {
			if read[q.ID] {
				changed(q, "snapshot")
			}
		}
		clear(read)
	}
	v.Status("connecting")
	for ev := range c.Events() { // closed when Run returns
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: the client now
			// reads the counts and delivers them as Snapshots.
			if ev.Gap {
				v.Status(fmt.Sprintf("connected after a %s gap: reading counts again", ev.Downtime.Round(time.Millisecond)))
			} else {
				v.Status("connected: reading counts")
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
			v.Status(fmt.Sprintf("fell behind: %d updates dropped", ev.Count))
		case notify.Snapshot:
			if q, ok := byTopic[ev.Topic]; ok && b.m.Apply(ev) {
				read[q.ID] = true
			}
		case notify.Notification:
			if q, ok := byTopic[ev.Topic]; ok && b.m.Apply(ev) {
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

// resynced is the status line of r: "resynced: 3 topics", and what was
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

// The demo's queues.
var demoQueues = []queue{
	{ID: "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b", Name: "Support"},
	{ID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", Name: "Sales"},
	{ID: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", Name: "Billing"},
}

// demo plays the demo's queues on a fake server, whose organization state
// is the truth: it changes it with SetQueueObservation, which publishes
// each change as Genesys does (the conversation metrics that changed, and
// the agents apart from them), and which the server's observation query
// answers, as Genesys does, for the snapshots after a gap.
//
// The fake observes voice conversations. Each queue keeps at least one
// conversation waiting and one interacting, each interacting one has an
// agent, and the agents on queue only move between IDLE and INTERACTING,
// so their number is fixed.
type demo struct {
	srv *notifytest.Server
}

// newDemo sets the queues' first counts on srv.
func newDemo(srv *notifytest.Server) *demo {
	first := [][3]int{{4, 5, 4}, {2, 4, 2}, {1, 2, 2}} // waiting, interacting, idle
	for i, q := range demoQueues {
		w, in, idle := first[i][0], first[i][1], first[i][2]
		srv.SetQueueObservation(q.ID, map[string]int{"oWaiting": w, "oInteracting": in,
			"oOnQueueUsers:IDLE": idle, "oOnQueueUsers:INTERACTING": in})
	}
	return &demo{srv: srv}
}

// step returns the demo's Step: each call changes a queue, and every
// dropEach-th call (0: never) drops every socket instead and then changes
// two queues while no socket is open, changes that the client learns only
// from its snapshots. Now and then it publishes a 30-minute aggregate,
// which shares the topic and changes no count.
func (d *demo) step(dropEach int) func(n int) {
	return func(n int) {
		if dropEach > 0 && n%dropEach == dropEach-1 {
			d.srv.DropAll()
			i := rand.IntN(len(demoQueues))
			d.change(demoQueues[i].ID)
			d.change(demoQueues[(i+1)%len(demoQueues)].ID)
			return
		}
		q := demoQueues[rand.IntN(len(demoQueues))].ID
		d.change(q)
		if n%7 == 0 {
			d.aggregate(q, n)
		}
	}
}

// change makes a conversation of queue id arrive, be answered by an idle
// agent or end, and sets the counts that changed.
func (d *demo) change(id string) {
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
func (d *demo) aggregate(id string, n int) {
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
