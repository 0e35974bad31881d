package wire

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalidTopic is the error of a topic that a protocol's grammar
// refuses; package notify exports it.
var ErrInvalidTopic = errors.New("notify: invalid topic")

// Grammar is a protocol's topic grammar, and how much a topic counts
// toward the limit of topics on a channel.
type Grammar struct {
	Check  func(topic string) error // nil, or an error matching ErrInvalidTopic that says why
	Weight func(topic string) int
}

// MaxTopicLen bounds a topic name; Genesys ids are far shorter.
const MaxTopicLen = 1024

// InvalidTopic returns the error for a topic that breaks rule.
func InvalidTopic(topic, rule string) error {
	return fmt.Errorf("%w: %q: %s", ErrInvalidTopic, topic, rule)
}

// CheckName checks what every protocol asks of a topic: 1 to MaxTopicLen
// bytes of UTF-8, without spaces or control characters.
func CheckName(topic string) error {
	if topic == "" || len(topic) > MaxTopicLen || !utf8.ValidString(topic) {
		return InvalidTopic(topic, fmt.Sprintf("a topic is 1 to %d bytes of UTF-8", MaxTopicLen))
	}
	if strings.ContainsFunc(topic, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return InvalidTopic(topic, "a topic has no spaces or control characters")
	}
	return nil
}
