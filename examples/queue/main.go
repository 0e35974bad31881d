// Command queue shows, per queue, the conversations waiting and interacting
// and the agents on queue as they change, under a status line that tells
// whether the stream is connected, reconnecting, or just recovered from a
// gap, how often it reconnected, and why it dropped last. The counts are a notify.Mirror of the stream: the client
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
// The demo is in demo.go, which sets demoMode in its init. This file
// imports only notify and the standard library: copied alone, it is the
// program without the demo, which links nothing of notifytest.
//
// queue -h tells more.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gcnotify/notify"
)

const usage = `usage: queue [-plain] [queue-id[=name] ...]

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
optionally =name).
`

// demoMode is the demo that demo.go adds: usage tells of it, and start
// starts it, returning a client of an embedded fake server, with
// WithSnapshots, the queues to show, and a stop to call once the client
// is closed. Without demo.go, queue needs credentials.
var demoMode struct {
	usage string
	start func(ctx context.Context) (c *notify.Client, queues []queue, stop func(), err error)
}

// credentialVars name the OAuth client.
var credentialVars = []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_ENVIRONMENT"}

func main() {
	plain := flag.Bool("plain", false, "print one line per change, even on a terminal")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage+demoMode.usage+"\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	missing := unset(credentialVars)
	if err := checkArgs(missing, flag.NArg()); err != nil {
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
		err    error
		title  = "Queues"
	)
	if len(missing) == 0 {
		for _, arg := range flag.Args() {
			id, name, _ := strings.Cut(arg, "=")
			queues = append(queues, queue{ID: id, Name: name})
		}
		ts := notify.ClientCredentials(ctx, os.Getenv("GENESYS_ENVIRONMENT"), os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"))
		c, err = notify.New(ts, notify.WithSnapshots()) // ts names the environment
		// An unknown region is a usage error: say so at once.
		if errors.Is(err, notify.ErrUnknownEnvironment) {
			fmt.Fprintf(os.Stderr, "queue: GENESYS_ENVIRONMENT: %v\n", err)
			stop()
			os.Exit(2)
		}
	} else {
		var end func()
		c, queues, end, err = demoMode.start(ctx)
		defer end() // after c.Close, deferred below
		title += " (demo)"
	}
	if err == nil {
		defer c.Close()
		b := newBoard(queues)
		err = show(ctx, c, newScreen(os.Stdout, !*plain && terminal(os.Stdout), title, b.rows), b)
	}
	if err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// unset returns the names of the environment variables that are not set.
func unset(names []string) (missing []string) {
	for _, name := range names {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	return missing
}

// checkArgs refuses what cannot run: some of the variables set but not
// all, none set without a demo, and queues without credentials or
// credentials without queues.
func checkArgs(missing []string, queues int) error {
	switch {
	case len(missing) > 0 && len(missing) < len(credentialVars):
		return fmt.Errorf("%s not set: set all three to use Genesys Cloud, or none for the demo", strings.Join(missing, " and "))
	case len(missing) > 0 && demoMode.start == nil:
		return errors.New("set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT to use Genesys Cloud")
	case len(missing) == 0 && queues == 0:
		return errors.New("name at least one queue: id or id=name")
	case len(missing) > 0 && queues > 0:
		return errors.New("queues are shown from Genesys Cloud only: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT, or name none for the demo")
	}
	return nil
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
func show(ctx context.Context, c *notify.Client, v *screen, b *board) error {
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
		v.change("%-8s %q waiting=%s interacting=%s onQueue=%s", why, q.label(), total(n.Waiting), total(n.Interacting), n.onQueue())
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
	v.setStatus("connecting")
	for ev := range c.Events() { // closed when Run returns
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: the client now
			// reads the counts and delivers them as Snapshots.
			v.connected(ev, "counts")
		case notify.Resynced:
			showRead()
			v.setStatus(resynced(ev))
		case notify.Disconnected:
			showRead()
			v.disconnected(ev)
		case notify.Rejected:
			v.setStatus(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.setStatus(fmt.Sprintf("fell behind: %d updates dropped", ev.Count))
		case notify.Snapshot:
			if q, ok := byTopic[ev.Topic]; ok && b.m.Apply(ev) {
				read[q.ID] = true
			}
		case notify.Notification:
			if q, ok := byTopic[ev.Topic]; ok && b.m.Apply(ev) {
				changed(q, "update")
			}
		}
		if err := v.err; err != nil {
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

// A screen is the program's output: a title with the count of reconnects,
// a status line, the last drop and the table, redrawn in place at every change on a terminal; or,
// anywhere else (a pipe, a file), one time-stamped line per change, with
// no escape codes. Its lines fit 80 columns: the title, status and drop
// lines are cut to 80 characters and every cell of the table to 24.
//
// It counts reconnects, and keeps the last drop in view: "down since" it
// until the next Connected, "last drop" after.
//
// A screen is not safe for concurrent use.
type screen struct {
	w      io.Writer
	redraw bool
	title  string
	table  func() [][]string
	err    error // the first write error

	status     string // what the stream does now
	reconnects int    // Connected events after the first
	drop       string // the last drop: when and why; "" if none
	down       bool   // no Connected since the drop
}

// Widths of a screen's layout.
const (
	screenWidth = 80
	cellWidth   = 24
)

// newScreen returns a screen that writes to w. If redraw, every change
// redraws it from the top left corner of the terminal; do that only if
// terminal(w). table returns the rows of the table, its header first.
func newScreen(w io.Writer, redraw bool, title string, table func() [][]string) *screen {
	return &screen{w: w, redraw: redraw, title: title, table: table}
}

// terminal reports whether w is a terminal (an *os.File on a character
// device), where a screen can redraw in place.
func terminal(w io.Writer) bool {
	f, _ := w.(*os.File)
	fi, err := f.Stat() // an error for a nil *os.File
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// connected shows c: the stream is up again, reading what; and, if c is
// a reconnect, counts it.
func (s *screen) connected(c notify.Connected, what string) {
	s.down = false
	switch {
	case !c.Reconnect:
		s.setStatus("connected: reading " + what)
		return
	case c.Gap:
		s.status = fmt.Sprintf("connected after a %s gap: reading %s again", c.Downtime.Round(time.Millisecond), what)
	default:
		s.status = "connected again, nothing missed"
	}
	s.reconnects++
	s.change("status %s (reconnect %d)", s.status, s.reconnects)
}

// disconnected shows d, and keeps it in view until the next Connected.
func (s *screen) disconnected(d notify.Disconnected) {
	s.drop, s.down = time.Now().Format("15:04:05")+": "+strings.TrimPrefix(d.Err.Error(), "notify: "), true
	s.status = fmt.Sprintf("reconnecting in %s", d.RetryIn.Round(time.Millisecond))
	s.change("status %s: %v", s.status, d.Err)
}

// setStatus sets the status line and shows it: it redraws, or writes the
// line "15:04:05.000 status {status}".
func (s *screen) setStatus(status string) {
	s.status = status
	s.change("status %s", status)
}

// change shows a change: it redraws, or writes a line of format and args
// after a time stamp, such as "15:04:05.000 {line}".
func (s *screen) change(format string, args ...any) {
	if s.err != nil {
		return
	}
	now := time.Now()
	if !s.redraw {
		_, s.err = fmt.Fprintf(s.w, "%s %s\n", now.Format("15:04:05.000"), fmt.Sprintf(format, args...))
		return
	}
	// Draw over the previous frame: from the top left corner, clearing the
	// rest of every line, then everything below.
	_, s.err = io.WriteString(s.w, "\x1b[H"+strings.ReplaceAll(s.frame(now), "\n", "\x1b[K\n")+"\x1b[J")
}

// frame returns what a redraw shows at now.
func (s *screen) frame(now time.Time) string {
	var b strings.Builder
	fmt.Fprintln(&b, clip(fmt.Sprintf("%s · %s · reconnects: %d", s.title, now.Format("15:04:05"), s.reconnects), screenWidth))
	fmt.Fprintln(&b, clip(s.status, screenWidth))
	switch {
	case s.down:
		fmt.Fprintln(&b, clip("down since "+s.drop, screenWidth))
	case s.drop != "":
		fmt.Fprintln(&b, clip("last drop "+s.drop, screenWidth))
	}
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, row := range s.table() {
		cells := make([]string, len(row))
		for i, cell := range row {
			cells[i] = clip(cell, cellWidth)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	return b.String()
}

// clip cuts s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
