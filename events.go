package notify

import (
	"encoding/json"
	"fmt"
	"time"
)

// An Event is one item of the stream returned by Events: a Notification,
// Connected, Disconnected, Rejected, Dropped, Snapshot or Resynced.
// Consumers type-switch on it.
type Event interface {
	event()
}

// Notification is an event the server published on a subscribed topic.
type Notification struct {
	Topic         string          // topicName, such as "v2.users.{id}.presence"
	Version       string          // envelope version, such as "2"
	CorrelationID string          // metadata.CorrelationId; not unique per event
	Body          json.RawMessage // eventBody, undecoded; see Decode
	Received      time.Time       // when the frame was read
}

// Connected reports that a connection is up and the whole topic set is
// subscribed on it. Every notification published after it is delivered.
type Connected struct {
	ChannelID string
	// Reconnect is false for the first connection of Run.
	Reconnect bool
	// Gap reports that events may have been missed since the previous
	// connection: Genesys keeps nothing for a closed socket, so backfill
	// over REST. A handover whose old socket could not be read to its end
	// reports a gap too; so does a channel that topics moved to from one
	// the client retired that could not be read to its end, with Topics
	// the moved topics.
	Gap bool
	// Downtime is how long no connection was up; zero for the first. For
	// a handover with a gap, how long its old socket had been silent.
	Downtime time.Duration
	// Topics is the set this connection carries, sorted: the scope of the
	// gap when Gap is set.
	Topics []string
}

// Disconnected reports that a connection was lost, or that an attempt to
// connect failed, and when the next attempt starts.
type Disconnected struct {
	ChannelID string // empty when no channel was reached
	Err       error
	RetryIn   time.Duration
}

// Rejected reports a topic that the server refused to subscribe, or, with
// WithTopicCatalog, a topic of the set that the server's topic catalog
// refused when Run read it. The topic has been removed from the set.
type Rejected struct {
	Topic              string
	Reason             string
	MissingPermissions []string
}

// Dropped reports that Count notifications were discarded at this point of
// the stream because the consumer fell behind and the buffer was full (see
// WithEventBuffer). A run of drops, with nothing passed on to the consumer
// between them, is one Dropped: two Dropped never follow each other.
type Dropped struct {
	Count int
}

// Snapshot is the state of one topic read over REST after a gap (see
// WithSnapshots). Its Body decodes, with Decode, into the same type as the
// topic's notifications, such as UserPresence for a presence topic.
type Snapshot struct {
	Topic string
	Body  json.RawMessage
	Taken time.Time // when the answer was read
}

// Resynced follows the snapshots read after one Connected, or after one
// Dropped: Topics got a Snapshot, Skipped did not, because no REST reader
// exists for them or the read failed (Err says why; nil if every skipped
// topic simply has no reader). ChannelID names the channel that
// connected; it is empty after a Dropped, whose topics may span channels.
type Resynced struct {
	ChannelID string
	Topics    []string
	Skipped   []string
	Err       error
}

func (Notification) event() {}
func (Connected) event()    {}
func (Disconnected) event() {}
func (Rejected) event()     {}
func (Dropped) event()      {}
func (Snapshot) event()     {}
func (Resynced) event()     {}

// Decode unmarshals the body of e into a T. e must be a Notification or a
// Snapshot (or a non-nil pointer to one): a Snapshot's body decodes into the
// same type as the notifications of its topic, such as UserPresence for a
// presence topic. Any other event is an error that names its type.
func Decode[T any](e Event) (T, error) {
	var v T
	b, ok := payloadOf(e)
	if !ok {
		return v, fmt.Errorf("notify: Decode reads a Notification or a Snapshot, not a %T", e)
	}
	if err := json.Unmarshal(b.body, &v); err != nil {
		what := "notification"
		if b.snapshot {
			what = "snapshot"
		}
		return v, fmt.Errorf("notify: decoding the %s of %s: %w", what, b.topic, err)
	}
	return v, nil
}

// payload is what Decode and Mirror read of a Notification or a Snapshot.
type payload struct {
	topic    string
	body     []byte
	at       time.Time // Received or Taken
	snapshot bool
}

// payloadOf returns the payload of e, a Notification or a Snapshot or a
// non-nil pointer to one; ok is false for any other event.
func payloadOf(e Event) (p payload, ok bool) {
	switch e := e.(type) {
	case Notification:
		return payload{e.Topic, e.Body, e.Received, false}, true
	case *Notification:
		if e != nil {
			return payload{e.Topic, e.Body, e.Received, false}, true
		}
	case Snapshot:
		return payload{e.Topic, e.Body, e.Taken, true}, true
	case *Snapshot:
		if e != nil {
			return payload{e.Topic, e.Body, e.Taken, true}, true
		}
	}
	return payload{}, false
}
