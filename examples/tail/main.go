// Command tail subscribes to Genesys Cloud notification topics and prints
// every event as one JSON line: notifications and the client's lifecycle
// events (connected, disconnected, rejected, dropped).
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it uses the real service with OAuth client credentials:
//
//	go run ./examples/tail v2.users.{id}.presence v2.routing.queues.{id}.conversations
//
// Without them it starts an embedded fake server (package notifytest) that
// publishes synthetic presence events and drops the connection every few
// seconds, so that recovery can be watched:
//
//	go run ./examples/tail
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/examples/internal/demofeed"
	"github.com/gcnotify/notify/notifytest"
)

func main() {
	dur := flag.Duration("for", 0, "stop after this long (default: until interrupted)")
	dropEvery := flag.Duration("drop-every", 3*time.Second, "with the fake server: how often it drops the connection")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	if err := run(ctx, os.Stdout, flag.Args(), *dropEvery); err != nil {
		log.Fatal(err)
	}
}

// run tails topics until ctx ends, writing one JSON line per event to w.
func run(ctx context.Context, w io.Writer, topics []string, dropEvery time.Duration) error {
	id, secret, env := os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"), os.Getenv("GENESYS_ENVIRONMENT")
	var (
		c   *notify.Client
		err error
	)
	if id != "" && secret != "" && env != "" {
		if len(topics) == 0 {
			return errors.New("tail: name at least one topic, such as v2.users.{id}.presence")
		}
		c, err = notify.New(notify.ClientCredentials(ctx, env, id, secret), notify.WithEnvironment(env))
	} else {
		var demoTopics []string
		var stop func()
		c, demoTopics, stop, err = startDemo(ctx, dropEvery)
		if err != nil {
			return err
		}
		defer stop() // after c.Close, deferred below
		if len(topics) == 0 {
			topics = demoTopics
		}
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()

	enc := json.NewEncoder(w)
	for ev := range c.Events() {
		if err := enc.Encode(line(ev)); err != nil {
			return err
		}
	}
	if err := <-runErr; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// line is the JSON form of one event.
func line(ev notify.Event) map[string]any {
	now := time.Now().Format(time.RFC3339Nano)
	switch ev := ev.(type) {
	case notify.Notification:
		return map[string]any{"time": ev.Received.Format(time.RFC3339Nano), "event": "notification",
			"topic": ev.Topic, "correlationId": ev.CorrelationID, "body": ev.Body}
	case notify.Connected:
		return map[string]any{"time": now, "event": "connected", "channel": ev.ChannelID,
			"reconnect": ev.Reconnect, "gap": ev.Gap, "downtimeMs": ev.Downtime.Milliseconds()}
	case notify.Disconnected:
		return map[string]any{"time": now, "event": "disconnected", "channel": ev.ChannelID,
			"error": ev.Err.Error(), "retryInMs": ev.RetryIn.Milliseconds()}
	case notify.Rejected:
		return map[string]any{"time": now, "event": "rejected", "topic": ev.Topic,
			"reason": ev.Reason, "missingPermissions": ev.MissingPermissions}
	case notify.Dropped:
		return map[string]any{"time": now, "event": "dropped", "count": ev.Count}
	}
	return map[string]any{"time": now, "event": fmt.Sprintf("%T", ev)}
}

// startDemo starts a fake server that publishes presence changes of a few
// agents and drops every socket every dropEvery, and a client for it. The
// server stops when ctx ends or on stop.
func startDemo(ctx context.Context, dropEvery time.Duration) (c *notify.Client, topics []string, stop func(), err error) {
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: time.Second})
	agents := []string{
		"3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b",
		"8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f",
		"c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
	}
	topics = make([]string, len(agents))
	for i, a := range agents {
		topics[i] = "v2.users." + a + ".presence"
	}
	presences := []string{"Available", "Busy", "Away", "Meal", "Meeting"}
	stop = demofeed.Feed(ctx, srv, 400*time.Millisecond, dropEvery, func(i int) {
		a := i % len(agents)
		srv.Publish(topics[a], map[string]any{
			"id": agents[a],
			"presenceDefinition": map[string]string{
				"id": fmt.Sprintf("%d", i%len(presences)), "systemPresence": presences[i%len(presences)],
			},
			"modifiedDate": time.Now().UTC().Format(time.RFC3339),
		})
	})
	c, err = demofeed.Client(srv)
	if err != nil {
		stop()
	}
	return c, topics, stop, err
}
