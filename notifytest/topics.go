package notifytest

import (
	"slices"
	"strings"

	"github.com/gcnotify/notify/internal/topic"
)

// expandTopic returns the topics that a subscription id names: the id
// itself, or for the combined form "prefix?a&b" the topics "prefix.a" and
// "prefix.b", as Genesys expands v2.users.{id}?presence&routingStatus. It
// reports false if the combined form has an empty prefix or part.
func expandTopic(id string) ([]string, bool) {
	prefix, parts, combined := strings.Cut(id, "?")
	if !combined {
		return []string{id}, id != ""
	}
	if prefix == "" || strings.HasSuffix(prefix, ".") || slices.Contains(strings.Split(parts, "&"), "") {
		return nil, false
	}
	return topic.Expand(id), true
}
