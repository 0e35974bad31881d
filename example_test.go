package notify_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// A client subscribes, connects and receives a notification; here against
// the fake server of package notifytest.
func Example() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()

	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"})
	c, err := notify.New(ts, notify.WithAPIBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	topic := "v2.users.8f0e3a6c.presence"
	if err := c.Subscribe(context.Background(), topic); err != nil {
		log.Fatal(err)
	}
	go c.Run(context.Background())

	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			fmt.Println("connected, gap:", ev.Gap)
			srv.Publish(topic, map[string]any{"presenceDefinition": map[string]string{"systemPresence": "Available"}})
		case notify.Notification:
			type presence struct {
				PresenceDefinition struct{ SystemPresence string }
			}
			p, err := notify.Decode[presence](ev)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println(ev.Topic, p.PresenceDefinition.SystemPresence)
			return
		}
	}
	// Output:
	// connected, gap: false
	// v2.users.8f0e3a6c.presence Available
}

// After a connection drop the client reconnects by itself, subscribes the
// same set again and reports the gap.
func ExampleConnected() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"})
	c, err := notify.New(ts, notify.WithAPIBaseURL(srv.URL()), notify.WithBackoff(10*time.Millisecond, time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	go c.Run(context.Background())

	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			fmt.Printf("connected: reconnect=%v gap=%v\n", ev.Reconnect, ev.Gap)
			if ev.Reconnect {
				return
			}
			srv.DropAll()
		case notify.Disconnected:
			fmt.Println("disconnected, retrying")
		}
	}
	// Output:
	// connected: reconnect=false gap=false
	// disconnected, retrying
	// connected: reconnect=true gap=true
}

// Decode turns a notification's body into the struct you declare.
func ExampleDecode() {
	n := notify.Notification{
		Topic: "v2.users.8f0e3a6c.presence",
		Body:  []byte(`{"presenceDefinition":{"systemPresence":"Busy"}}`),
	}
	type presence struct {
		PresenceDefinition struct{ SystemPresence string }
	}
	p, err := notify.Decode[presence](n)
	fmt.Println(p.PresenceDefinition.SystemPresence, err)
	// Output: Busy <nil>
}

// Decode reads a Snapshot's body too: it decodes into the same type as the
// notifications of its topic.
func ExampleDecode_snapshot() {
	snap := notify.Snapshot{
		Topic: notify.UserPresenceTopic("8f0e3a6c"),
		Body:  []byte(`{"userId":"8f0e3a6c","presenceDefinition":{"systemPresence":"Away"},"modifiedDate":"2025-03-04T09:12:31.604Z"}`),
	}
	p, err := notify.Decode[notify.UserPresence](snap)
	fmt.Println(p.PresenceDefinition.SystemPresence, p.ModifiedDate.Format(time.Kitchen), err)
	_, err = notify.Decode[notify.UserPresence](notify.Dropped{Count: 3})
	fmt.Println(err)
	// Output:
	// Away 9:12AM <nil>
	// notify: Decode reads a Notification or a Snapshot, not a notify.Dropped
}

// Stats tells a health check whether the stream is up.
func ExampleClient_Stats() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"})
	c, err := notify.New(ts, notify.WithAPIBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.Stats().State)
	go c.Run(context.Background())
	<-c.Events() // Connected
	st := c.Stats()
	fmt.Println(st.State, len(st.Channels))
	// Output:
	// idle
	// connected 1
}

// The token-frame protocol is one option away; everything else is the same.
func ExampleWithTokenFrameEndpoint() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"})
	c, err := notify.New(ts, notify.WithTokenFrameEndpoint(srv.TokenFrameURL()))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(context.Background(), "/users/8f0e3a6c/presence"); err != nil {
		log.Fatal(err)
	}
	go c.Run(context.Background())
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			srv.Publish("/users/8f0e3a6c/presence", map[string]string{"presence": "Available"})
		case notify.Notification:
			fmt.Println(ev.Topic, string(ev.Body))
			return
		}
	}
	// Output: /users/8f0e3a6c/presence {"presence":"Available"}
}

// Topic builders name the topics people use most; the body types decode them.
func ExampleUserPresenceTopic() {
	fmt.Println(notify.UserPresenceTopic("8f0e3a6c"))
	fmt.Println(notify.QueueObservationsTopic("fd17c7b3"))
	// Output:
	// v2.users.8f0e3a6c.presence
	// v2.analytics.queues.fd17c7b3.observations
}

// A Trace's hooks see what happens to a client, for metrics (package
// otelnotify records them with OpenTelemetry); here they print the REST
// requests and the connection of a client of the fake server.
func ExampleTrace() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()

	tr := &notify.Trace{
		Request: func(i notify.RequestInfo) { fmt.Println(i.Route, i.Status) },
		Connected: func(i notify.ConnectedInfo) {
			fmt.Printf("connected with %d topic, gap %t\n", i.Topics, i.Gap)
		},
	}
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "example"})
	c, err := notify.New(ts, notify.WithAPIBaseURL(srv.URL()), notify.WithTrace(tr))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Subscribe(context.Background(), notify.UserPresenceTopic("8f0e3a6c")); err != nil {
		log.Fatal(err)
	}
	go c.Run(context.Background())
	for ev := range c.Events() {
		if _, ok := ev.(notify.Connected); ok {
			break
		}
	}
	// Output:
	// POST /api/v2/notifications/channels 200
	// PUT /api/v2/notifications/channels/{id}/subscriptions 200
	// connected with 1 topic, gap false
}
