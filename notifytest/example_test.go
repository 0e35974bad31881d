package notifytest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// A test of a notify.Client, the code under test here: it must see the
// presence set while it is connected, report the drop, and, with
// WithSnapshots, read again the change made while it was away.
func Example_client() {
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: 20 * time.Millisecond})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := notify.New(srv.TokenSource(), notify.WithAPIBaseURL(srv.URL()), notify.WithSnapshots(),
		notify.WithBackoff(time.Millisecond, 20*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	topic := notify.UserPresenceTopic("1")
	if err := c.Subscribe(ctx, topic); err != nil {
		log.Fatal(err)
	}
	go c.Run(ctx)

	// The test reacts to what the client delivers, step by step.
	resyncs, down := 0, false
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			fmt.Println("connected, gap:", ev.Gap)
			down = false
		case notify.Snapshot:
			var p notify.UserPresence
			if err := json.Unmarshal(ev.Body, &p); err != nil {
				log.Fatal(err)
			}
			fmt.Println("read again:", p.PresenceDefinition.SystemPresence)
		case notify.Resynced:
			if resyncs++; resyncs == 2 {
				return
			}
			// Publish once the server holds the topic.
			if err := srv.WaitSubscribed(ctx, topic); err != nil {
				log.Fatal(err)
			}
			srv.SetPresence("1", "Available")
		case notify.Notification:
			p, err := notify.Decode[notify.UserPresence](ev)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println("changed:", p.PresenceDefinition.SystemPresence)
			srv.FailUpgrades(1000, http.StatusServiceUnavailable) // keep it away
			srv.DropAll()
		case notify.Disconnected:
			if !down { // the first of the tries to reconnect
				fmt.Println("disconnected")
				srv.SetPresence("1", "Busy") // lost to the client, as on Genesys
				srv.FailUpgrades(0, http.StatusServiceUnavailable)
			}
			down = true
		}
	}

	// Output:
	// connected, gap: false
	// read again: Offline
	// changed: Available
	// disconnected
	// connected, gap: true
	// read again: Busy
}

func Example() {
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: -1})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// do sends an authorized REST request and decodes the response into v.
	do := func(method, path, body string, v any) {
		req, err := http.NewRequestWithContext(ctx, method, srv.URL()+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer my-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			log.Fatalf("%s %s: %s", method, path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			log.Fatal(err)
		}
	}

	// Create a channel and connect to it.
	var channel struct {
		ConnectURI string `json:"connectUri"`
		ID         string `json:"id"`
	}
	do(http.MethodPost, "/api/v2/notifications/channels", "", &channel)
	c, _, err := websocket.Dial(ctx, channel.ConnectURI, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	// Subscribe to a topic.
	const topic = "v2.users.42.presence"
	var result struct {
		Entities []struct{ ID, State string }
	}
	do(http.MethodPut, "/api/v2/notifications/channels/"+channel.ID+"/subscriptions",
		`[{"id":"`+topic+`"}]`, &result)
	fmt.Println(result.Entities[0].ID, result.Entities[0].State)

	// Publish an event and read it.
	_, delivered := srv.Publish(topic, map[string]string{"presence": "Available"})
	fmt.Println("delivered:", delivered)

	_, frame, err := c.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var event struct {
		TopicName string          `json:"topicName"`
		EventBody json.RawMessage `json:"eventBody"`
	}
	if err := json.Unmarshal(frame, &event); err != nil {
		log.Fatal(err)
	}
	fmt.Println(event.TopicName, string(event.EventBody))

	c.Close(websocket.StatusNormalClosure, "")

	// Output:
	// v2.users.42.presence Permitted
	// delivered: 1
	// v2.users.42.presence {"presence":"Available"}
}

func ExampleServer_TokenFrameURL() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Connect: no credentials on the upgrade, the token is the first frame.
	c, _, err := websocket.Dial(ctx, srv.TokenFrameURL(), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()

	// send writes a frame and prints the server's answer.
	send := func(frame string) {
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			log.Fatal(err)
		}
		_, answer, err := c.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(string(answer))
	}
	send(`{"access_token":"my-token"}`)
	send(`{"topic":"/users/42/presence"}`)

	// Publish an event and read it.
	_, delivered := srv.Publish("/users/42/presence", map[string]string{"presence": "Available"})
	fmt.Println("delivered:", delivered)
	_, frame, err := c.Read(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(frame))

	c.Close(websocket.StatusNormalClosure, "")

	// Output:
	// {"event":"connected"}
	// {"event":"subscribed","data":{"topic":"/users/42/presence"}}
	// delivered: 1
	// {"event":"/users/42/presence","data":{"presence":"Available"}}
}

func ExampleServer_SetPresence() {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()

	// The state changes while no client is connected: the notification is
	// lost, the state is kept.
	delivered := srv.SetPresence("42", "On Queue")
	fmt.Println("delivered:", delivered)

	// A client re-reads it over REST, with a token of the fake's token
	// endpoint.
	tok, err := srv.TokenSource().Token()
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, srv.URL()+"/api/v2/users/presences/purecloud/bulk?id=42&id=43", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var presences []struct {
		UserID             string `json:"userId"`
		PresenceDefinition struct {
			SystemPresence string `json:"systemPresence"`
		} `json:"presenceDefinition"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&presences); err != nil {
		log.Fatal(err)
	}
	for _, p := range presences {
		fmt.Println(p.UserID, p.PresenceDefinition.SystemPresence)
	}

	// Output:
	// delivered: 0
	// 42 On Queue
	// 43 Offline
}
