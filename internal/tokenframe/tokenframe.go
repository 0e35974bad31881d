// Package tokenframe speaks the token-frame notification protocol: the
// client sends its token as the first socket frame, subscribes with topic
// frames and receives events named after their topics. See
// docs/protocol.md §2.
package tokenframe

import (
	"encoding/json"
	"errors"

	"github.com/gcnotify/notify/internal/intern"
	"github.com/gcnotify/notify/internal/jsonscan"
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
	Topic  string // the event's topic, or the topic a reply is about
	Status int    // for Error
	Text   string // for Error: the server's message
	// Data is, for an Event, the raw data value byte for byte as it
	// appears in the frame (a JSON null stays the four bytes null; nil if
	// the frame has none). It ALIASES the decoded frame: a caller that
	// reuses its frame buffer must copy Data first.
	Data json.RawMessage
}

// ErrNoEvent is returned for a frame without an event name.
var ErrNoEvent = errors.New("tokenframe: frame has no event")

// A Decoder decodes frames like Decode and can return the topics it knows
// without allocating them. The zero Decoder is ready to use; its methods
// may be called concurrently.
type Decoder struct {
	topics intern.Table
}

// Intern replaces the set of known topics, typically with the subscribed
// topics: an event or reply about one of them yields the string given here
// instead of a new allocation. The slice is not retained.
func (d *Decoder) Intern(topics []string) { d.topics.Set(topics) }

var plainDecoder Decoder

// Decode parses a server frame. The event names "connected", "subscribed",
// "unsubscribed" and "error" are replies; any other name is a topic.
// Message.Data aliases frame.
func Decode(frame []byte) (Message, error) { return plainDecoder.Decode(frame) }

// Frame fields, named as encoding/json matches them.
const (
	fieldEvent   = "event"
	fieldData    = "data"
	fieldTopic   = "topic"
	fieldStatus  = "status"
	fieldMessage = "message"
)

// Decode parses a server frame; see the package-level Decode.
//
// The semantics are those of encoding/json (v1) decoding the frame into
// struct{ Event string; Data json.RawMessage } and, for a reply with data
// other than null, the data into struct{ Topic string; Status int;
// Message string } (lower-case JSON names): keys match fields
// case-insensitively, the last duplicate wins, null leaves a field
// untouched (but is kept as raw bytes by data), a value of the wrong type
// is an error and so is a status that is not an integer within int's range.
func (d *Decoder) Decode(frame []byte) (Message, error) {
	i := jsonscan.SkipSpace(frame, 0)
	if i < len(frame) && frame[i] != '{' {
		return Message{}, notObject(frame, i)
	}
	var (
		event, data []byte // raw tokens of the values that count
		typeErr     error  // the first one, as encoding/json reports
	)
	it := jsonscan.Members(frame, i, 1)
	for it.Next() {
		v := it.Value()
		switch frameField(it.Key()) {
		case fieldEvent:
			switch v[0] {
			case '"':
				event = v
			case 'n':
			default:
				typeErr = firstErr(typeErr, v, fieldEvent, "string", it.ValueOffset())
			}
		case fieldData:
			data = v
		}
	}
	if err := it.Err(); err != nil {
		return Message{}, err
	}
	if j := jsonscan.SkipSpace(frame, it.End()); j < len(frame) {
		return Message{}, jsonscan.Validate(frame) // reports the trailing garbage
	}
	if typeErr != nil {
		return Message{}, typeErr
	}
	if len(event) <= 2 { // absent, or ""
		return Message{}, ErrNoEvent
	}
	var buf [128]byte
	name, _ := jsonscan.UnquoteInto(buf[:0], event)
	var kind Kind
	switch string(name) {
	case "connected":
		kind = Connected
	case "subscribed":
		kind = Subscribed
	case "unsubscribed":
		kind = Unsubscribed
	case "error":
		kind = Error
	default:
		return Message{Kind: Event, Topic: d.topics.String(name), Data: data}, nil
	}
	m := Message{Kind: kind}
	if len(data) == 0 || string(data) == "null" {
		return m, nil
	}
	if data[0] != '{' {
		return Message{}, &jsonscan.TypeError{Value: jsonscan.KindOf(data), Field: fieldData, Type: "struct", Offset: offset(frame, data)}
	}
	var topic, text []byte
	dit := jsonscan.Members(data, 0, 2)
	for dit.Next() {
		v := dit.Value()
		switch dataField(dit.Key()) {
		case fieldTopic:
			switch v[0] {
			case '"':
				topic = v
			case 'n':
			default:
				typeErr = firstErr(typeErr, v, fieldData+"."+fieldTopic, "string", offset(frame, v))
			}
		case fieldStatus:
			switch v[0] {
			case 'n':
			case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				if n, ok := jsonscan.Int(v); ok {
					m.Status = n
					break
				}
				fallthrough
			default:
				typeErr = firstErr(typeErr, v, fieldData+"."+fieldStatus, "int", offset(frame, v))
			}
		case fieldMessage:
			switch v[0] {
			case '"':
				text = v
			case 'n':
			default:
				typeErr = firstErr(typeErr, v, fieldData+"."+fieldMessage, "string", offset(frame, v))
			}
		}
	}
	if typeErr != nil {
		return Message{}, typeErr
	}
	if topic != nil {
		name, _ := jsonscan.UnquoteInto(buf[:0], topic)
		m.Topic = d.topics.String(name)
	}
	if text != nil {
		m.Text = jsonscan.UnquoteString(text)
	}
	return m, nil
}

// notObject is the error for a frame whose top-level value is not an
// object; a null decodes to the zero frame, hence ErrNoEvent.
func notObject(frame []byte, i int) error {
	if err := jsonscan.Validate(frame); err != nil {
		return err
	}
	if frame[i] == 'n' {
		return ErrNoEvent
	}
	return &jsonscan.TypeError{Value: jsonscan.KindOf(frame[i:]), Type: "tokenframe frame", Offset: i}
}

func firstErr(err error, v []byte, field, typ string, off int) error {
	if err != nil {
		return err
	}
	return &jsonscan.TypeError{Value: jsonscan.KindOf(v), Field: field, Type: typ, Offset: off}
}

// offset locates v, a sub-slice of frame, in frame.
func offset(frame, v []byte) int { return cap(frame) - cap(v) }

// frameField returns the frame field that the raw key selects, or "".
func frameField(key []byte) string {
	switch string(key[1 : len(key)-1]) { // exact match, the common case
	case fieldEvent:
		return fieldEvent
	case fieldData:
		return fieldData
	}
	return foldField(key, fieldEvent, fieldData)
}

// dataField returns the reply data field that the raw key selects, or "".
func dataField(key []byte) string {
	switch string(key[1 : len(key)-1]) {
	case fieldTopic:
		return fieldTopic
	case fieldStatus:
		return fieldStatus
	case fieldMessage:
		return fieldMessage
	}
	return foldField(key, fieldTopic, fieldStatus, fieldMessage)
}

// foldField returns the name that the raw key matches under encoding/json's
// case folding. The names of one struct are pairwise fold-distinct, so a
// fold match is the match.
func foldField(key []byte, names ...string) string {
	var buf [64]byte
	k, ok := jsonscan.UnquoteInto(buf[:0], key)
	if !ok {
		return ""
	}
	for _, f := range names {
		if jsonscan.EqualFold(k, f) {
			return f
		}
	}
	return ""
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
