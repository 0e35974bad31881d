package genesys

import (
	"encoding/json"
	"errors"
	"strings"
)

// Kind classifies a socket frame.
type Kind int

const (
	// Event is a notification on a subscribed topic.
	Event Kind = iota
	// Heartbeat is a channel.metadata frame other than a pong.
	Heartbeat
	// Pong is the channel.metadata answer to Ping.
	Pong
	// SocketClosing warns that the server will close the socket soon.
	SocketClosing
	// NoLongerSubscribed says the channel is gone.
	NoLongerSubscribed
	// TokenRevoked says the token behind the channel was revoked.
	TokenRevoked
)

// Topics of the frames that are not events.
const (
	metadataTopic      = "channel.metadata"
	socketClosingTopic = "v2.system.socket_closing"
	noLongerPrefix     = "v2.system.no_longer_subscribed"
	revokedPrefix      = "v2.system.token_revoked"
)

// Ping is the client's keepalive frame; the server answers with a pong on
// channel.metadata.
var Ping = []byte(`{"message":"ping"}`)

// Message is one decoded socket frame.
type Message struct {
	Kind          Kind
	Topic         string
	Version       string
	CorrelationID string
	// Body is the raw eventBody; it aliases the decoded frame.
	Body json.RawMessage
}

// ErrNoTopic is returned for a frame without a topicName.
var ErrNoTopic = errors.New("genesys: frame has no topicName")

// Decode parses a text frame.
func Decode(frame []byte) (Message, error) {
	var env struct {
		TopicName string          `json:"topicName"`
		Version   json.RawMessage `json:"version"`
		EventBody json.RawMessage `json:"eventBody"`
		Metadata  struct {
			CorrelationID string `json:"CorrelationId"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(frame, &env); err != nil {
		return Message{}, err
	}
	if env.TopicName == "" {
		return Message{}, ErrNoTopic
	}
	m := Message{
		Kind:          classify(env.TopicName, env.EventBody),
		Topic:         env.TopicName,
		Version:       version(env.Version),
		CorrelationID: env.Metadata.CorrelationID,
		Body:          env.EventBody,
	}
	return m, nil
}

func classify(topic string, body json.RawMessage) Kind {
	switch {
	case topic == metadataTopic:
		var b struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &b) == nil && b.Message == "pong" {
			return Pong
		}
		return Heartbeat
	case topic == socketClosingTopic:
		return SocketClosing
	case strings.HasPrefix(topic, noLongerPrefix):
		return NoLongerSubscribed
	case strings.HasPrefix(topic, revokedPrefix):
		return TokenRevoked
	}
	return Event
}

// version accepts "2" and 2 alike: the documentation shows a string, but a
// number must not cost the user the event.
func version(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
