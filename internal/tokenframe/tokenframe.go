// Package tokenframe speaks the token-frame notification protocol: the
// client sends its token as the first socket frame, subscribes with topic
// frames and receives events named after their topics. See PROTOCOL.md §2.
package tokenframe

import (
	"encoding/json"
	"errors"
)

// Kind classifies a server frame.
type Kind int

const (
	// Event is a notification; Message.Topic is its topic.
	Event Kind = iota
	// Connected accepts the token.
	Connected
	// Subscribed confirms a topic.
	Subscribed
	// Unsubscribed confirms the removal of a topic.
	Unsubscribed
	// Error refuses the token (Status 401, no Topic) or one topic.
	Error
)

// Close code of a server that refuses or expires the token.
const CloseUnauthorized = 4001

// Message is one decoded server frame.
type Message struct {
	Kind   Kind
	Topic  string          // the event's topic, or the topic a reply is about
	Status int             // for Error
	Text   string          // for Error: the server's message
	Data   json.RawMessage // for Event: the body; aliases nothing
}

// ErrNoEvent is returned for a frame without an event name.
var ErrNoEvent = errors.New("tokenframe: frame has no event")

// Decode parses a server frame. The event names "connected", "subscribed",
// "unsubscribed" and "error" are replies; any other name is a topic.
func Decode(frame []byte) (Message, error) {
	var f struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		return Message{}, err
	}
	if f.Event == "" {
		return Message{}, ErrNoEvent
	}
	var kind Kind
	switch f.Event {
	case "connected":
		kind = Connected
	case "subscribed":
		kind = Subscribed
	case "unsubscribed":
		kind = Unsubscribed
	case "error":
		kind = Error
	default:
		return Message{Kind: Event, Topic: f.Event, Data: f.Data}, nil
	}
	m := Message{Kind: kind}
	if len(f.Data) > 0 && string(f.Data) != "null" {
		var d struct {
			Topic   string `json:"topic"`
			Status  int    `json:"status"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(f.Data, &d); err != nil {
			return Message{}, err
		}
		m.Topic, m.Status, m.Text = d.Topic, d.Status, d.Message
	}
	return m, nil
}

// Auth is the frame that presents a token, first or again.
func Auth(token string) []byte {
	return marshal(struct {
		AccessToken string `json:"access_token"`
	}{token})
}

// Subscribe is the frame that adds a topic.
func Subscribe(topic string) []byte {
	return marshal(struct {
		Topic string `json:"topic"`
	}{topic})
}

// Unsubscribe is the frame that removes a topic.
func Unsubscribe(topic string) []byte {
	return marshal(struct {
		Unsubscribe string `json:"unsubscribe"`
	}{topic})
}

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // structs of strings always marshal
	}
	return b
}
