package tokenframe

import (
	"slices"
	"strings"

	"github.com/gcnotify/notify/internal/wire"
)

// Grammar is the token-frame topic grammar; every topic counts as one.
var Grammar = wire.Grammar{Check: CheckTopic, Weight: func(string) int { return 1 }}

// CheckTopic checks a topic against the token-frame grammar: a path of
// non-empty segments, such as "/users/{id}/presence".
func CheckTopic(t string) error {
	if err := wire.CheckName(t); err != nil {
		return err
	}
	if !strings.HasPrefix(t, "/") || slices.Contains(strings.Split(t[1:], "/"), "") || strings.ContainsAny(t, "?&") {
		return wire.InvalidTopic(t, `token-frame topics are paths of non-empty segments, such as "/users/{id}/presence"`)
	}
	return nil
}
