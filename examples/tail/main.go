// Command tail subscribes to Genesys Cloud notification topics and prints
// every event as one JSON line: notifications and the client's lifecycle
// events (connected, disconnected, rejected, dropped, …).
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
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

const usage = `usage: tail [-drop-every duration] [topic ...]

tail subscribes to Genesys Cloud notification topics, such as
v2.users.{id}.presence, and prints every event as one JSON line that starts
with its kind and time:

  {"event":"connected","time":"…","channel":"…","reconnect":false,"gap":false,…}
  {"event":"notification","time":"…","topic":"…","correlationId":"…","body":{…}}

Environment:
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

With all three set, tail tails the topics named as arguments on Genesys
Cloud. With none set it runs in demo mode: an embedded fake server publishes
presence changes of three agents and drops the connection every -drop-every,
so that you see the client reconnect and report the gap; topics cannot be
named then. Ctrl-C stops it.

Flags:
`

func main() {
	dropEvery := flag.Duration("drop-every", 3*time.Second, "demo mode: drop the connection this often; 0 never")
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), usage); flag.PrintDefaults() }
	flag.Parse()
	creds, live, err := notifytest.CredentialsFromEnv(os.Getenv)
	switch {
	case err != nil:
	case *dropEvery < 0:
		err = fmt.Errorf("-drop-every %v is negative; 0 never drops", *dropEvery)
	case live && flag.NArg() == 0:
		err = errors.New("name at least one topic, such as v2.users.{id}.presence")
	case !live && flag.NArg() > 0:
		err = errors.New("topics are tailed on Genesys Cloud only: set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT, or name none for the demo")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tail: %v\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var c *notify.Client
	topics := flag.Args()
	if live {
		ts := notify.ClientCredentials(ctx, creds.Environment, creds.ClientID, creds.ClientSecret)
		c, err = notify.New(ts) // ts names the environment
		// An unknown region is a usage error: say so at once.
		if errors.Is(err, notify.ErrUnknownEnvironment) {
			fmt.Fprintf(os.Stderr, "tail: GENESYS_ENVIRONMENT: %v\n", err)
			stop()
			os.Exit(2)
		}
	} else {
		fmt.Fprintln(os.Stderr, "demo mode: no credentials, using the embedded fake server")
		srv := notifytest.NewServer(notifytest.Config{})
		defer srv.Close() // after c.Close, deferred below
		go srv.RunDemo(ctx, notifytest.Demo{Tick: 400 * time.Millisecond, DropEvery: *dropEvery, Step: demoStep(srv)})
		topics = demoTopics
		c, err = notify.New(srv.TokenSource(), notify.WithAPIBaseURL(srv.URL()), notify.WithBackoff(200*time.Millisecond, 2*time.Second))
	}
	if err == nil {
		defer c.Close()
		err = tail(ctx, c, topics, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "tail: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// tail subscribes c to topics and writes one JSON line per event to w
// until ctx ends or Run fails.
func tail(ctx context.Context, c *notify.Client, topics []string, w io.Writer) error {
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	for ev := range c.Events() { // closed when Run returns
		if err := writeLine(w, ev); err != nil {
			return err
		}
	}
	if err := <-runErr; ctx.Err() == nil {
		return err
	}
	return nil // interrupted
}

// writeLine writes ev as one JSON line that starts with its kind and time,
// so that lines are easy to filter: {"event":"connected","time":"…",…}.
func writeLine(w io.Writer, ev notify.Event) error {
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
