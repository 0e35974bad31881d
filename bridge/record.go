package bridge

import (
	"encoding/json"
	"time"

	"github.com/gcnotify/notify"
)

// Record is the JSON body of a lifecycle message, published on
// "gc._bridge.<replica>.<kind>". Fields that do not apply to its kind are
// omitted.
type Record struct {
	Kind    string    `json:"kind"` // KindConnected, KindDisconnected, KindRejected or KindDropped
	Replica string    `json:"replica"`
	Time    time.Time `json:"time"`

	// Connected and Disconnected.
	Channel    string `json:"channel,omitempty"`
	Reconnect  bool   `json:"reconnect,omitempty"`
	Gap        bool   `json:"gap,omitempty"` // events may be missing from this replica
	DowntimeMs int64  `json:"downtimeMs,omitempty"`
	Error      string `json:"error,omitempty"`
	RetryInMs  int64  `json:"retryInMs,omitempty"`

	// Rejected.
	Topic              string   `json:"topic,omitempty"`
	Reason             string   `json:"reason,omitempty"`
	MissingPermissions []string `json:"missingPermissions,omitempty"`

	// Dropped: Count notifications were discarded at this point, by the
	// notify client ("client": the bridge read too slowly) or by the
	// bridge ("bridge": its buffer was full while NATS was away).
	Count  int    `json:"count,omitempty"`
	Source string `json:"source,omitempty"`
}

// Sources of a dropped Record.
const (
	SourceClient = "client"
	SourceBridge = "bridge"
)

// recordOf returns the Record of a lifecycle event, and false for a
// Notification.
func recordOf(ev notify.Event, replica string, now time.Time) (Record, bool) {
	r := Record{Replica: replica, Time: now.UTC()}
	switch ev := ev.(type) {
	case notify.Connected:
		r.Kind, r.Channel, r.Reconnect, r.Gap = KindConnected, ev.ChannelID, ev.Reconnect, ev.Gap
		r.DowntimeMs = ev.Downtime.Milliseconds()
	case notify.Disconnected:
		r.Kind, r.Channel, r.RetryInMs = KindDisconnected, ev.ChannelID, ev.RetryIn.Milliseconds()
		if ev.Err != nil {
			r.Error = ev.Err.Error()
		}
	case notify.Rejected:
		r.Kind, r.Topic, r.Reason, r.MissingPermissions = KindRejected, ev.Topic, ev.Reason, ev.MissingPermissions
	case notify.Dropped:
		r.Kind, r.Count, r.Source = KindDropped, ev.Count, SourceClient
	default:
		return r, false
	}
	return r, true
}

func (r Record) encode() []byte {
	b, err := json.Marshal(r)
	if err != nil { // cannot happen: every field encodes
		panic(err)
	}
	return b
}
