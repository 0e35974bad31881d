package otelnotify

import "strings"

// template returns topic with each id-like part replaced by {id}, such as
// "v2.users.{id}.presence" for
// "v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence", so that a
// metric has one series per kind of topic, not one per user or queue.
// Parts are separated by '.', '/' (token-frame topics such as
// "/users/42/presence"), '?' and '&' (the combined form); a part is
// id-like if it holds a digit, except a leading version such as "v2".
//
// It stands in for notify.TopicTemplate, which matches the server's
// catalog, until that is in the root module.
func template(topic string) string {
	var b strings.Builder
	start, first := 0, true
	for i := 0; i <= len(topic); i++ {
		if i < len(topic) && !strings.ContainsRune("./?&", rune(topic[i])) {
			continue
		}
		part := topic[start:i]
		if idLike(part) && !(first && isVersion(part)) {
			part = "{id}"
		}
		b.WriteString(part)
		if i < len(topic) {
			b.WriteByte(topic[i])
		}
		start, first = i+1, first && part == ""
	}
	return b.String()
}

// idLike reports whether part holds a digit.
func idLike(part string) bool {
	return strings.ContainsAny(part, "0123456789")
}

// isVersion reports whether part is a version such as "v2".
func isVersion(part string) bool {
	return len(part) > 1 && part[0] == 'v' && strings.Trim(part[1:], "0123456789") == ""
}
