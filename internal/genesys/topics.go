package genesys

import (
	"slices"
	"strings"

	"github.com/gcnotify/notify/internal/topic"
	"github.com/gcnotify/notify/internal/wire"
)

// TopicsPerChannel is how many topics Genesys allows on a channel.
const TopicsPerChannel = 1000

// Grammar is the Genesys topic grammar.
var Grammar = wire.Grammar{Check: CheckTopic, Weight: Weight}

// CheckTopic checks a topic against the Genesys grammar: "v2." and
// non-empty dot-separated segments, with at most one combined suffix
// "?a&b", and no placeholder copied from the documentation, such as
// "{id}".
func CheckTopic(t string) error {
	if err := wire.CheckName(t); err != nil {
		return err
	}
	if p, ok := topic.Placeholder(t); ok {
		return wire.InvalidTopic(t, p+" is a placeholder: put the id in its place")
	}
	name, combined, isCombined := strings.Cut(t, "?")
	if !strings.HasPrefix(name, "v2.") || slices.Contains(strings.Split(name, "."), "") || strings.Contains(name, "&") {
		return wire.InvalidTopic(t, `Genesys topics are "v2." and non-empty dot-separated segments, such as "v2.users.{id}.presence"`)
	}
	if isCombined && (slices.Contains(strings.Split(combined, "&"), "") || strings.ContainsAny(combined, ".?")) {
		return wire.InvalidTopic(t, `a combined topic ends in "?" and non-empty names joined by "&", such as "?presence&routingStatus"`)
	}
	return nil
}

// Weight is how many topics t counts as toward a channel's limit: the
// combined form "v2.users.{id}?presence&routingStatus" names one per
// suffix (ASSUMED: the server counts the expansion).
func Weight(t string) int {
	_, combined, ok := strings.Cut(t, "?")
	if !ok {
		return 1
	}
	return 1 + strings.Count(combined, "&")
}
