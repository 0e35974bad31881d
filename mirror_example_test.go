package notify_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gcnotify/notify"
)

// A Mirror fed with the stream ends with the server's state: here a
// snapshot read after a reconnect is older than an event that overtook it,
// and does not overwrite it.
func ExampleMirror() {
	const user = "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b"
	presence := func(system, modified string) json.RawMessage {
		return json.RawMessage(`{"source":"PURECLOUD","presenceDefinition":{"systemPresence":"` + system +
			`"},"modifiedDate":"` + modified + `"}`)
	}
	m := notify.NewMirror()
	// In a service: for ev := range client.Events() { m.Apply(ev) }, and
	// HTTP handlers read m.
	events := []notify.Event{
		notify.Connected{ChannelID: "streaming-0-x", Topics: []string{notify.UserPresenceTopic(user)}},
		notify.Notification{Topic: notify.UserPresenceTopic(user), Body: presence("Available", "2025-03-04T09:00:00Z")},
		notify.Connected{ChannelID: "streaming-0-x", Reconnect: true, Gap: true},
		notify.Notification{Topic: notify.UserPresenceTopic(user), Body: presence("On Queue", "2025-03-04T09:05:00Z")},
		notify.Snapshot{Topic: notify.UserPresenceTopic(user), Body: presence("Away", "2025-03-04T09:04:00Z"), Taken: time.Now()},
		notify.Resynced{ChannelID: "streaming-0-x", Topics: []string{notify.UserPresenceTopic(user)}},
	}
	for _, ev := range events {
		fmt.Printf("%T changed the state: %v\n", ev, m.Apply(ev))
	}
	p, _ := m.Presence(user)
	fmt.Println(p.PresenceDefinition.SystemPresence, "since", p.ModifiedDate.Format(time.Kitchen))
	// Output:
	// notify.Connected changed the state: false
	// notify.Notification changed the state: true
	// notify.Connected changed the state: false
	// notify.Notification changed the state: true
	// notify.Snapshot changed the state: false
	// notify.Resynced changed the state: false
	// On Queue since 9:05AM
}
