// Command tail subscribes to Genesys Cloud notification topics and prints
// every event, notifications and the client's lifecycle events (connected,
// disconnected, rejected, dropped, …), as one short line: its time, its
// kind, its topic and what it says. With -json it prints JSON lines.
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service with OAuth client credentials:
//
//	go run ./examples/tail v2.users.{id}.presence v2.routing.queues.{id}.conversations
//
// With none of them set it runs in demo mode: an embedded fake server
// (package notifytest) publishes presence changes and drops the connection
// every few seconds, so that recovery can be watched:
//
//	go run ./examples/tail
//
// The demo is in demo.go, which sets demoMode in its init. This file
// imports only notify and the standard library: copied alone, it is the
// program without the demo, which links nothing of notifytest.
//
// tail -h tells more.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"time"

	"github.com/gcnotify/notify"
)

const usage = `usage: tail [-json] [topic ...]

tail subscribes to Genesys Cloud notification topics, such as
v2.users.{id}.presence, and prints every event as one line: its time, its
kind, its topic and what it says:

  15:04:05.412 notification users.3b5e0f7a….presence Available
  15:04:06.001 disconnected retrying in 200ms: the server closed it; channel…

With -json it prints each event as one JSON line that starts with its kind
and time: {"event":"notification","time":"…","topic":"…","body":{…}}

Environment:
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

With all three set, tail tails the topics named as arguments on Genesys
Cloud.
`

// demoMode is the demo that demo.go adds: usage tells of it, and start
// starts it, returning a client of an embedded fake server, the topics to
// tail there, and a stop to call once the client is closed. Without
// demo.go, tail needs credentials.
var demoMode struct {
	usage string
	start func(ctx context.Context) (c *notify.Client, topics []string, stop func(), err error)
}

// credentialVars name the OAuth client.
var credentialVars = []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_ENVIRONMENT"}

func main() {
	asJSON := flag.Bool("json", false, "print each event as one JSON line")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), usage+demoMode.usage+"\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	missing := unset(credentialVars)
	if err := checkArgs(missing, flag.NArg()); err != nil {
		fmt.Fprintf(os.Stderr, "tail: %v\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var (
		c      *notify.Client
		err    error
		topics = flag.Args()
	)
	if len(missing) == 0 {
		ts := notify.ClientCredentials(ctx, os.Getenv("GENESYS_ENVIRONMENT"), os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"))
		c, err = notify.New(ts) // ts names the environment
		// An unknown region is a usage error: say so at once.
		if errors.Is(err, notify.ErrUnknownEnvironment) {
			fmt.Fprintf(os.Stderr, "tail: GENESYS_ENVIRONMENT: %v\n", err)
			stop()
			os.Exit(2)
		}
	} else {
		var end func()
		c, topics, end, err = demoMode.start(ctx)
		defer end() // after c.Close, deferred below
	}
	if err == nil {
		defer c.Close()
		write := writeLine
		if *asJSON {
			write = writeJSON
		}
		err = tail(ctx, c, topics, os.Stdout, write)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tail: %v\n", err)
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
// all, none set without a demo, and topics without credentials or
// credentials without topics.
func checkArgs(missing []string, topics int) error {
	switch {
	case len(missing) > 0 && len(missing) < len(credentialVars):
		return fmt.Errorf("%s not set: set all three to use Genesys Cloud, or none for the demo", strings.Join(missing, " and "))
	case len(missing) > 0 && demoMode.start == nil:
		return errors.New("set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT to use Genesys Cloud")
	case len(missing) == 0 && topics == 0:
		return errors.New("name at least one topic, such as v2.users.{id}.presence")
	case len(missing) > 0 && topics > 0:
		return errors.New("topics are tailed on Genesys Cloud only: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT, or name none for the demo")
	}
	return nil
}

// tail subscribes c to topics and writes each event to w with write until
// ctx ends or Run fails.
func tail(ctx context.Context, c *notify.Client, topics []string, w io.Writer, write func(io.Writer, notify.Event) error) error {
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	for ev := range c.Events() { // closed when Run returns
		if err := write(w, ev); err != nil {
			return err
		}
	}
	if err := <-runErr; ctx.Err() == nil {
		return err
	}
	return nil // interrupted
}

// lineWidth is the most columns a line of writeLine takes.
const lineWidth = 80

// writeLine writes ev as one line of at most lineWidth columns: its time,
// its kind, and what it says, a notification its shortened topic and a
// summary of its body:
//
//	15:04:05.412 notification users.3b5e0f7a….presence Available
func writeLine(w io.Writer, ev notify.Event) error {
	at, kind, text := time.Now(), "", ""
	switch ev := ev.(type) {
	case notify.Notification:
		at, kind, text = ev.Received, "notification", shortTopic(ev.Topic)+" "+summary(ev.Topic, ev.Body)
	case notify.Snapshot:
		at, kind, text = ev.Taken, "snapshot", shortTopic(ev.Topic)+" "+summary(ev.Topic, ev.Body)
	case notify.Connected:
		kind, text = "connected", connected(ev)
	case notify.Disconnected:
		kind = "disconnected"
		why := strings.TrimPrefix(strings.TrimPrefix(ev.Err.Error(), "notify: "), "connection lost: ")
		text = fmt.Sprintf("retrying in %v: %s", ev.RetryIn.Round(time.Millisecond), why)
	case notify.Rejected:
		kind, text = "rejected", fmt.Sprintf("%s: %s %v", shortTopic(ev.Topic), ev.Reason, ev.MissingPermissions)
	case notify.Dropped:
		kind, text = "dropped", fmt.Sprintf("%d notifications: tail fell behind", ev.Count)
	case notify.Resynced:
		kind, text = "resynced", fmt.Sprintf("%d topics read again, %d skipped", len(ev.Topics), len(ev.Skipped))
		if ev.Err != nil {
			text += ": " + strings.TrimPrefix(ev.Err.Error(), "notify: ")
		}
	default:
		kind, text = "other", fmt.Sprintf("%T", ev)
	}
	line := []rune(fmt.Sprintf("%s %-12s %s", at.Local().Format("15:04:05.000"), kind, text))
	if len(line) > lineWidth {
		line = append(line[:lineWidth-1], '…')
	}
	_, err := fmt.Fprintln(w, string(line))
	return err
}

// connected says what a Connected means: the first connection, one after
// a gap, or one that missed nothing (a handover).
func connected(c notify.Connected) string {
	switch {
	case c.Gap:
		return fmt.Sprintf("again after a %v gap: events may be missed", c.Downtime.Round(time.Millisecond))
	case c.Reconnect:
		return "again, nothing missed"
	}
	return fmt.Sprintf("%d topics on %s", len(c.Topics), c.ChannelID)
}

// uuid matches the ids in topics.
var uuid = regexp.MustCompile(`([0-9a-fA-F]{8})-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

// shortTopic shortens topic for a line: without "v2." (or "v2.analytics."),
// and every id to its first 8 characters, as in "users.3b5e0f7a….presence".
func shortTopic(topic string) string {
	topic = strings.TrimPrefix(strings.TrimPrefix(topic, "v2."), "analytics.")
	return uuid.ReplaceAllString(topic, "${1}…")
}

// summary says in a few words what body, of a notification of topic, says:
// a presence ("Available"), a routing status ("IDLE"), the counts of a
// queue ("waiting 3, interacting 5"), a conversation; or else the start of
// the body.
func summary(topic string, body json.RawMessage) string {
	var err error
	switch notify.TopicTemplate(topic) {
	case "v2.users.{id}.presence":
		var p notify.UserPresence
		if err = json.Unmarshal(body, &p); err == nil {
			return p.PresenceDefinition.SystemPresence
		}
	case "v2.users.{id}.routingStatus":
		var r notify.UserRoutingStatus
		if err = json.Unmarshal(body, &r); err == nil {
			return r.RoutingStatus.Status
		}
	case "v2.analytics.queues.{id}.observations":
		var o notify.QueueObservation
		if err = json.Unmarshal(body, &o); err == nil {
			return counts(o)
		}
	case "v2.users.{id}.conversations", "v2.routing.queues.{id}.conversations":
		var c notify.Conversation
		if err = json.Unmarshal(body, &c); err == nil {
			return conversation(c)
		}
	}
	if err != nil {
		return "undecodable body: " + err.Error()
	}
	return string(body)
}

// counts lists the queue counts that o carries: "waiting 3, interacting 5,
// on queue 9"; or, for the aggregates on the same topic, their metrics.
func counts(o notify.QueueObservation) string {
	var parts []string
	for _, m := range []struct{ metric, label string }{
		{"oWaiting", "waiting"}, {"oInteracting", "interacting"}, {"oOnQueueUsers", "on queue"},
	} {
		if n, ok := o.Count(m.metric); ok {
			parts = append(parts, fmt.Sprintf("%s %d", m.label, n))
		}
	}
	if len(parts) == 0 {
		for _, d := range o.Data {
			for _, m := range d.Metrics {
				parts = append(parts, m.Metric)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// conversation says which conversation c is and whether it ended.
func conversation(c notify.Conversation) string {
	state := "ongoing"
	if c.Ended() {
		state = "ended"
	}
	return fmt.Sprintf("%s %s, %d participants", shortTopic(c.ID), state, len(c.Participants))
}

// writeJSON writes ev as one JSON line that starts with its kind and time,
// so that lines are easy to filter: {"event":"connected","time":"…",…}.
func writeJSON(w io.Writer, ev notify.Event) error {
	type field struct {
		key   string
		value any
	}
	kind, at, fields := "", time.Now(), []field(nil)
	switch ev := ev.(type) {
	case notify.Notification:
		kind, at = "notification", ev.Received
		fields = []field{{"topic", ev.Topic}, {"correlationId", ev.CorrelationID}, {"body", ev.Body}}
	case notify.Connected:
		kind = "connected"
		fields = []field{{"channel", ev.ChannelID}, {"reconnect", ev.Reconnect}, {"gap", ev.Gap},
			{"downtimeMs", ev.Downtime.Milliseconds()}}
		if len(ev.Topics) > 0 {
			fields = append(fields, field{"topics", ev.Topics})
		}
	case notify.Disconnected:
		kind = "disconnected"
		fields = []field{{"channel", ev.ChannelID}, {"error", ev.Err.Error()}, {"retryInMs", ev.RetryIn.Milliseconds()}}
	case notify.Rejected:
		kind = "rejected"
		fields = []field{{"topic", ev.Topic}, {"reason", ev.Reason}, {"missingPermissions", ev.MissingPermissions}}
	case notify.Dropped:
		kind, fields = "dropped", []field{{"count", ev.Count}}
	case notify.Snapshot:
		kind, at = "snapshot", ev.Taken
		fields = []field{{"topic", ev.Topic}, {"body", ev.Body}}
	case notify.Resynced:
		kind = "resynced"
		fields = []field{{"channel", ev.ChannelID}, {"topics", ev.Topics}, {"skipped", ev.Skipped}}
		if ev.Err != nil {
			fields = append(fields, field{"error", ev.Err.Error()})
		}
	default:
		kind, fields = "other", []field{{"type", fmt.Sprintf("%T", ev)}}
	}
	line := fmt.Appendf(nil, `{"event":%q,"time":%q`, kind, at.Format(time.RFC3339Nano))
	for _, f := range fields {
		v, err := json.Marshal(f.value)
		if err != nil {
			return err
		}
		line = append(fmt.Appendf(line, ",%q:", f.key), v...)
	}
	_, err := w.Write(append(line, "}\n"...))
	return err
}
