package otelnotify

import "testing"

func TestTemplate(t *testing.T) {
	for topic, want := range map[string]string{
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence":                        "v2.users.{id}.presence",
		"v2.routing.queues.fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d.conversations":          "v2.routing.queues.{id}.conversations",
		"v2.users.8f0e6a2b7c4d4b1e8f2a5d6c7b8a9e0f.outbound.contactlists.123456.export": "v2.users.{id}.outbound.contactlists.{id}.export",
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f?presence&routingStatus":          "v2.users.{id}?presence&routingStatus",
		"/users/42/presence":     "/users/{id}/presence",
		"channel.metadata":       "channel.metadata",
		"v2.users.{id}.presence": "v2.users.{id}.presence",
		"":                       "",
	} {
		if got := template(topic); got != want {
			t.Errorf("template(%q) = %q, want %q", topic, got, want)
		}
	}
}
