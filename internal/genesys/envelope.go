package genesys

import (
	"encoding/json"
	"errors"
	"strings"
	"unsafe"

	"github.com/gcnotify/notify/internal/intern"
	"github.com/gcnotify/notify/internal/jsonscan"
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
	// Body is the raw eventBody, byte for byte as it appears in the frame
	// (a JSON null stays the four bytes null; nil if the frame has no
	// eventBody). It ALIASES the decoded frame: a caller that reuses its
	// frame buffer must copy Body first.
	Body json.RawMessage
}

// ErrNoTopic is returned for a frame without a topicName.
var ErrNoTopic = errors.New("genesys: frame has no topicName")

// A Decoder decodes frames like Decode and can return the topics it knows
// without allocating them. The zero Decoder is ready to use; its methods
// may be called concurrently.
type Decoder struct {
	topics intern.Table
}

// Intern replaces the set of known topics, typically with the subscribed
// topics: a frame whose topicName equals one of them yields the string
// given here instead of a new allocation. The slice is not retained.
func (d *Decoder) Intern(topics []string) { d.topics.Set(topics) }

var plainDecoder Decoder

// Decode parses a text frame. It accepts and rejects exactly what
// encoding/json's Unmarshal into the envelope struct does (see the
// reference in the tests). Message.Body aliases frame.
func Decode(frame []byte) (Message, error) { return plainDecoder.Decode(frame) }

// Envelope fields, named as encoding/json matches them.
const (
	fieldTopic    = "topicName"
	fieldVersion  = "version"
	fieldBody     = "eventBody"
	fieldMetadata = "metadata"
	fieldCorrID   = "CorrelationId"
)

// Decode parses a text frame; see the package-level Decode.
//
// The semantics are those of encoding/json (v1) decoding into
//
//	struct {
//		TopicName string          `json:"topicName"`
//		Version   json.RawMessage `json:"version"`
//		EventBody json.RawMessage `json:"eventBody"`
//		Metadata  struct {
//			CorrelationID string `json:"CorrelationId"`
//		} `json:"metadata"`
//	}
//
// keys match fields case-insensitively, the last duplicate wins, null
// leaves a string or the metadata untouched but is kept as raw bytes by
// version and eventBody, a second metadata object merges into the first,
// and a value of the wrong type is an error.
func (d *Decoder) Decode(frame []byte) (Message, error) { return d.decode(frame, false) }

// DecodeOwned is Decode for a caller that reuses its frame buffer: Body and
// CorrelationID are copied out of the frame, into one allocation that they
// share (Body's capacity ends where the id begins).
func (d *Decoder) DecodeOwned(frame []byte) (Message, error) { return d.decode(frame, true) }

func (d *Decoder) decode(frame []byte, owned bool) (Message, error) {
	i := jsonscan.SkipSpace(frame, 0)
	if i < len(frame) && frame[i] != '{' {
		return Message{}, notObject(frame, i)
	}
	var (
		topic, ver, body, corr []byte // raw tokens of the values that count
		typeErr                error  // the first one, as encoding/json reports
	)
	it := jsonscan.Members(frame, i, 1)
	for it.Next() {
		v := it.Value()
		switch envelopeField(it.Key()) {
		case fieldTopic:
			switch v[0] {
			case '"':
				topic = v
			case 'n':
			default:
				typeErr = firstErr(typeErr, v, fieldTopic, "string", it.ValueOffset())
			}
		case fieldVersion:
			ver = v
		case fieldBody:
			body = v
		case fieldMetadata:
			switch v[0] {
			case '{':
				off := it.ValueOffset()
				mit := jsonscan.Members(v, 0, 2)
				for mit.Next() {
					if !isKey(mit.Key(), fieldCorrID) {
						continue
					}
					switch mv := mit.Value(); mv[0] {
					case '"':
						corr = mv
					case 'n':
					default:
						typeErr = firstErr(typeErr, mv, fieldMetadata+"."+fieldCorrID, "string", off+mit.ValueOffset())
					}
				}
			case 'n':
			default:
				typeErr = firstErr(typeErr, v, fieldMetadata, "struct", it.ValueOffset())
			}
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
	if len(topic) <= 2 { // absent, or ""
		return Message{}, ErrNoTopic
	}
	m := Message{Topic: d.topic(topic), Body: body}
	if len(ver) > 0 {
		m.Version = version(ver)
	}
	m.Kind = classify(m.Topic, body)
	switch {
	case owned:
		var buf [128]byte
		var id []byte
		if corr != nil {
			id, _ = jsonscan.UnquoteInto(buf[:0], corr)
		}
		m.Body, m.CorrelationID = own(body, id)
	case corr != nil:
		m.CorrelationID = jsonscan.UnquoteString(corr)
	}
	return m, nil
}

// own copies body and id into one new allocation.
func own(body, id []byte) (json.RawMessage, string) {
	if len(body)+len(id) == 0 {
		return body, ""
	}
	b := make([]byte, len(body)+len(id))
	n := copy(b, body)
	copy(b[n:], id)
	var s string
	if len(id) > 0 {
		// The bytes are never written again: Body's capacity stops short
		// of them.
		s = unsafe.String(&b[n], len(id))
	}
	if body == nil {
		return nil, s
	}
	return b[:n:n], s
}

// notObject is the error for a frame whose top-level value is not an
// object; a null decodes to the zero envelope, hence ErrNoTopic.
func notObject(frame []byte, i int) error {
	if err := jsonscan.Validate(frame); err != nil {
		return err
	}
	if frame[i] == 'n' {
		return ErrNoTopic
	}
	return &jsonscan.TypeError{Value: jsonscan.KindOf(frame[i:]), Type: "genesys envelope", Offset: i}
}

func firstErr(err error, v []byte, field, typ string, off int) error {
	if err != nil {
		return err
	}
	return &jsonscan.TypeError{Value: jsonscan.KindOf(v), Field: field, Type: typ, Offset: off}
}

// envelopeField returns the envelope field that the raw key selects, or "".
func envelopeField(key []byte) string {
	switch string(key[1 : len(key)-1]) { // exact match, the common case
	case fieldTopic:
		return fieldTopic
	case fieldVersion:
		return fieldVersion
	case fieldBody:
		return fieldBody
	case fieldMetadata:
		return fieldMetadata
	}
	var buf [64]byte
	k, ok := jsonscan.UnquoteInto(buf[:0], key)
	if !ok {
		return ""
	}
	// The names are pairwise fold-distinct, so a fold match is the match.
	for _, f := range [...]string{fieldTopic, fieldVersion, fieldBody, fieldMetadata} {
		if jsonscan.EqualFold(k, f) {
			return f
		}
	}
	return ""
}

// isKey reports whether the raw key selects the field name, in a struct
// whose other field names are fold-distinct from it.
func isKey(key []byte, name string) bool {
	if string(key[1:len(key)-1]) == name {
		return true
	}
	var buf [64]byte
	k, ok := jsonscan.UnquoteInto(buf[:0], key)
	return ok && jsonscan.EqualFold(k, name)
}

// topic decodes the topicName token, returning a known topic without
// allocating.
func (d *Decoder) topic(tok []byte) string {
	var buf [128]byte
	s, _ := jsonscan.UnquoteInto(buf[:0], tok)
	switch string(s) {
	case metadataTopic:
		return metadataTopic
	case socketClosingTopic:
		return socketClosingTopic
	}
	return d.topics.String(s)
}

func classify(topic string, body []byte) Kind {
	switch {
	case topic == metadataTopic:
		if isPong(body) {
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

// isPong reports whether the (valid) eventBody decodes without error into
// struct{ Message string `json:"message"` } with Message "pong".
func isPong(body []byte) bool {
	if len(body) == 0 || body[0] != '{' {
		return false // absent or not an object: an error; null: no message
	}
	pong := false
	it := jsonscan.Members(body, 0, 1)
	for it.Next() {
		if !isKey(it.Key(), "message") {
			continue
		}
		switch v := it.Value(); v[0] {
		case '"':
			var buf [16]byte
			s, _ := jsonscan.UnquoteInto(buf[:0], v)
			pong = string(s) == "pong"
		case 'n':
		default:
			return false
		}
	}
	return it.Err() == nil && pong
}

// version accepts "2" and 2 alike: the documentation shows a string, but a
// number must not cost the user the event. A string is decoded, null is
// empty, any other value is kept as its JSON text.
func version(raw []byte) string {
	switch raw[0] {
	case '"':
		return jsonscan.UnquoteString(raw)
	case 'n':
		return ""
	}
	return string(raw)
}
