// Command presence shows a live table of agents' presence and routing
// status, under a status line that tells whether the stream is connected,
// reconnecting, or just recovered from a gap, how often it reconnected,
// and why it dropped last. The table is a notify.Mirror of the stream: the
// client (notify.WithSnapshots) reads every agent's state again in bulk
// after each gap and delivers it as snapshots, so the table is right again
// once the status line says "resynced".
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
// The demo is in demo.go, which sets demoMode in its init. This file
// imports only notify and the standard library: copied alone, it is the
// program without the demo, which links nothing of notifytest.
//
// presence -h tells more.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gcnotify/notify"
)

const usage = `usage: presence [-plain] [user-id[=name] ...]

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
optionally =name).
`

// demoMode is the demo that demo.go adds: usage tells of it, and start
// starts it, returning a client of an embedded fake server, with
// WithSnapshots, the agents to show, and a stop to call once the client
// is closed. Without demo.go, presence needs credentials.
var demoMode struct {
	usage string
	start func(ctx context.Context) (c *notify.Client, agents []agent, stop func(), err error)
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
		err    error
		title  = "Agents"
	)
	if len(missing) == 0 {
		for _, arg := range flag.Args() {
			id, name, _ := strings.Cut(arg, "=")
			agents = append(agents, agent{ID: id, Name: name})
		}
		ts := notify.ClientCredentials(ctx, os.Getenv("GENESYS_ENVIRONMENT"), os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"))
		c, err = notify.New(ts, notify.WithSnapshots()) // ts names the environment
		// An unknown region is a usage error: say so at once.
		if errors.Is(err, notify.ErrUnknownEnvironment) {
			fmt.Fprintf(os.Stderr, "presence: GENESYS_ENVIRONMENT: %v\n", err)
			stop()
			os.Exit(2)
		}
	} else {
		var end func()
		c, agents, end, err = demoMode.start(ctx)
		defer end() // after c.Close, deferred below
		title += " (demo)"
	}
	if err == nil {
		defer c.Close()
		m := notify.NewMirror()
		v := newScreen(os.Stdout, !*plain && terminal(os.Stdout), title, func() [][]string { return rows(agents, m) })
		err = show(ctx, c, v, agents, m)
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
// all, none set without a demo, and users without credentials or
// credentials without users.
func checkArgs(missing []string, users int) error {
	switch {
	case len(missing) > 0 && len(missing) < len(credentialVars):
		return fmt.Errorf("%s not set: set all three to use Genesys Cloud, or none for the demo", strings.Join(missing, " and "))
	case len(missing) > 0 && demoMode.start == nil:
		return errors.New("set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT to use Genesys Cloud")
	case len(missing) == 0 && users == 0:
		return errors.New("name at least one user: id or id=name")
	case len(missing) > 0 && users > 0:
		return errors.New("users are shown from Genesys Cloud only: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT, or name none for the demo")
	}
	return nil
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
func show(ctx context.Context, c *notify.Client, v *screen, agents []agent, m *notify.Mirror) error {
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
		v.change("%-8s %q %s, %s", why, a.label(), orDash(s.Presence), orDash(s.Routing))
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
	v.setStatus("connecting")
	for ev := range c.Events() { // closed when Run returns
		switch ev := ev.(type) {
		case notify.Connected:
			// Genesys keeps nothing for a closed socket: the client now
			// reads the agents' state and delivers it as Snapshots.
			v.connected(ev, "agents")
		case notify.Resynced:
			showRead()
			v.setStatus(resynced(ev))
		case notify.Disconnected:
			showRead()
			v.disconnected(ev)
		case notify.Rejected:
			v.setStatus(fmt.Sprintf("refused %s: %s %v", ev.Topic, ev.Reason, ev.MissingPermissions))
		case notify.Dropped:
			v.setStatus(fmt.Sprintf("fell behind: %d changes dropped", ev.Count))
		case notify.Snapshot:
			if a, ok := byTopic[ev.Topic]; ok && m.Apply(ev) {
				read[a.ID] = true
			}
		case notify.Notification:
			if a, ok := byTopic[ev.Topic]; ok && m.Apply(ev) {
				why := "presence"
				if notify.TopicTemplate(ev.Topic) == "v2.users.{id}.routingStatus" {
					why = "routing"
				}
				changed(a, why)
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
