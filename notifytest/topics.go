package notifytest

import "strings"

// expandTopic returns the topics that a subscription id names: the id
// itself, or for the combined form "prefix?a&b" the topics "prefix.a" and
// "prefix.b", as Genesys expands v2.users.{id}?presence&routingStatus. It
// reports false if the combined form has an empty prefix or part.
func expandTopic(id string) ([]string, bool) {
	prefix, suffix, combined := strings.Cut(id, "?")
	if !combined {
		return []string{id}, id != ""
	}
	parts := strings.Split(suffix, "&")
	if prefix == "" || strings.HasSuffix(prefix, ".") {
		return nil, false
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		if p == "" {
			return nil, false
		}
		out[i] = prefix + "." + p
	}
	return out, true
}
