package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/demo"
	"github.com/gcnotify/notify/notifytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// demoEvents returns the events of a client of the demo's server: its
// first Connected, a notification of each agent, the Disconnected of a
// drop and the Connected after it.
func demoEvents(t *testing.T) []notify.Event {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	c, err := demo.Client(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := c.Subscribe(ctx, demoTopics...); err != nil {
		t.Fatal(err)
	}
	go c.Run(ctx)
	var evs []notify.Event
	next := func() notify.Event {
		select {
		case ev := <-c.Events():
			evs = append(evs, ev)
			return ev
		case <-ctx.Done():
			t.Fatalf("waiting for an event: %v", ctx.Err())
			return nil
		}
	}
	for _, ok := next().(notify.Connected); !ok; _, ok = next().(notify.Connected) {
	}
	if err := srv.WaitSubscribed(ctx, demoTopics...); err != nil {
		t.Fatal(err)
	}
	step := demoStep(srv)
	for n := range demoTopics {
		step(n)
		next()
	}
	srv.DropAll()
	for ev := next(); ; ev = next() {
		if c, ok := ev.(notify.Connected); ok && c.Gap {
			return evs
		}
	}
}

// A line is its time, its kind and what it says, in at most 80 columns:
// a notification its short topic and the presence, a drop its plain words.
func TestLineFormat(t *testing.T) {
	evs := demoEvents(t)
	at := time.Now()
	evs = append(evs,
		notify.Disconnected{ChannelID: "streaming-0-x", RetryIn: 1500 * time.Millisecond,
			Err: errors.New("notify: no heartbeat for 1m7.5s")},
		notify.Dropped{Count: 12},
		notify.Rejected{Topic: demoTopics[0], Reason: "denied", MissingPermissions: []string{"presence:view"}},
		notify.Snapshot{Topic: notify.UserRoutingStatusTopic(demoAgents[1]), Taken: at,
			Body: json.RawMessage(`{"routingStatus":{"status":"IDLE","startTime":"2025-03-04T09:12:40.118Z"}}`)},
		notify.Notification{Topic: notify.QueueObservationsTopic(demoAgents[2]), Received: at,
			Body: json.RawMessage(`{"group":{"queueId":"q"},"data":[{"metrics":[{"metric":"oWaiting","stats":{"count":3}},{"metric":"oInteracting","stats":{"count":5}}]}]}`)},
		notify.Resynced{ChannelID: "streaming-0-x", Topics: demoTopics, Skipped: demoTopics[:1], Err: errors.New("notify: 403 Forbidden")},
	)
	want := map[string]*regexp.Regexp{
		"connected":    regexp.MustCompile(`^(\d+ topics on streaming-\S+|again after a \S+ gap: events may be missed)$`),
		"notification": regexp.MustCompile(`^(users\.[0-9a-f]{8}…\.presence (Available|Busy|Away|Meal|Meeting)|queues\.[0-9a-f]{8}…\.observations waiting 3, interacting 5)$`),
		"disconnected": regexp.MustCompile(`^retrying in \S+: (the server closed it; channel |no heartbeat for 1m7.5s$)`),
		"dropped":      regexp.MustCompile(`^12 notifications: tail fell behind$`),
		"rejected":     regexp.MustCompile(`^users\.3b5e0f7a…\.presence: denied \[presence:view\]$`),
		"snapshot":     regexp.MustCompile(`^users\.8f0e6a2b…\.routingStatus IDLE$`),
		"resynced":     regexp.MustCompile(`^3 topics read again, 1 skipped: 403 Forbidden$`),
	}
	line := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (\w+) +(.*)$`)
	seen := map[string]bool{}
	for _, ev := range evs {
		var b bytes.Buffer
		if err := writeLine(&b, ev); err != nil {
			t.Fatal(err)
		}
		text, ok := strings.CutSuffix(b.String(), "\n")
		if !ok || strings.Contains(text, "\n") {
			t.Errorf("not one line: %q", b.String())
		}
		if n := utf8.RuneCountInString(text); n > 80 {
			t.Errorf("%d columns: %q", n, text)
		}
		m := line.FindStringSubmatch(text)
		if m == nil || want[m[1]] == nil || !want[m[1]].MatchString(strings.TrimSuffix(m[2], "…")) {
			t.Errorf("%T makes an unexpected line: %q", ev, text)
			continue
		}
		seen[m[1]] = true
	}
	for kind := range want {
		if !seen[kind] {
			t.Errorf("no %s line among %d events", kind, len(evs))
		}
	}
}

// With -json, each event is one JSON object that starts with its kind and
// time and carries the whole of the event: the topic and body of a
// notification, the error of a drop.
func TestJSONLines(t *testing.T) {
	for _, ev := range demoEvents(t) {
		var b bytes.Buffer
		if err := writeJSON(&b, ev); err != nil {
			t.Fatal(err)
		}
		var l struct {
			Event, Topic, Error string
			Time                time.Time
			Body                json.RawMessage
		}
		if err := json.Unmarshal(b.Bytes(), &l); err != nil || !strings.HasPrefix(b.String(), `{"event":"`+l.Event+`","time":"`) ||
			l.Time.IsZero() || !strings.HasSuffix(b.String(), "}\n") {
			t.Errorf("not a JSON line that starts with its event and time: %q (%v)", b.String(), err)
		}
		switch ev := ev.(type) {
		case notify.Notification:
			if l.Topic != ev.Topic || !bytes.Equal(l.Body, ev.Body) {
				t.Errorf("a notification's line lacks its topic or body: %q", b.String())
			}
		case notify.Disconnected:
			if l.Error != ev.Err.Error() {
				t.Errorf("a drop's line lacks its error: %q", b.String())
			}
		}
	}
}
