package topic

import (
	"math"
	"slices"
	"testing"
)

func TestTemplate(t *testing.T) {
	for name, want := range map[string]string{
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence":      "v2.users.{id}.presence",
		"v2.users.u1.routingStatus":                                   "v2.users.{id}.routingStatus",
		"v2.users.42?presence&routingStatus":                          "v2.users.{id}?presence&routingStatus",
		"v2.users.8f0e.outbound.contactlists.c0ffee-1.export":         "v2.users.{id}.outbound.contactlists.{id}.export",
		"v2.architect.systemprompts.Goodbye.resources.en-us":          "v2.architect.systemprompts.Goodbye.resources.{id}",
		"v2.system.socket_closing":                                    "v2.system.socket_closing",
		"v2.system.no_longer_subscribed.streaming-0-fmtdmf8cdis7jh14": "v2.system.no_longer_subscribed.{id}",
		"v2.users.{userId}.presence":                                  "v2.users.{id}.presence",
		"v2.users.{id}.presence":                                      "v2.users.{id}.presence",
		"v2.users.alice.presence":                                     "v2.users.alice.presence",
		"v2.users..presence":                                          "v2.users..presence",
		"/users/42/presence":                                          "/users/{id}/presence",
		"/users/alice/presence":                                       "/users/alice/presence",
		"":                                                            "",
		"channel.metadata":                                            "channel.metadata",
	} {
		if got := Template(name); got != want {
			t.Errorf("Template(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestExpand(t *testing.T) {
	if got := Expand("v2.users.1?presence&routingStatus"); !slices.Equal(got, []string{"v2.users.1.presence", "v2.users.1.routingStatus"}) {
		t.Errorf("combined: %q", got)
	}
	if got := Expand("v2.users.1.presence"); !slices.Equal(got, []string{"v2.users.1.presence"}) {
		t.Errorf("plain: %q", got)
	}
}

func TestPlaceholder(t *testing.T) {
	for name, want := range map[string]string{
		"v2.users.{userId}.presence":       "{userId}",
		"v2.users.{id}?presence":           "{id}",
		"/users/{id}/presence":             "{id}",
		"v2.users.u1?presence&{status}":    "{status}",
		"v2.users.8f0e.presence":           "",
		"v2.users.8f0e?presence&presence}": "presence}",
	} {
		got, ok := Placeholder(name)
		if got != want || ok != (want != "") {
			t.Errorf("Placeholder(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

var templates = []string{
	"v2.users.{id}.presence",
	"v2.users.{id}.routingStatus",
	"v2.users.{id}.conversations",
	"v2.users.{id}.conversations.calls",
	"v2.users.{id}.outbound.contactlists.{id}.export",
	"v2.flows.{id}",
	"v2.flows.outcomes.{id}",
	"v2.audits.entitytype.{id}.entityid.{id}",
}

func TestMatch(t *testing.T) {
	c := NewCatalog(templates)
	for name, want := range map[string]string{
		"v2.users.8f0e6a2b-7c4d.presence":                 "v2.users.{id}.presence",
		"v2.users.alice.presence":                         "v2.users.{id}.presence",
		"v2.users.u1.conversations.calls":                 "v2.users.{id}.conversations.calls",
		"v2.users.u1.outbound.contactlists.cl-9.export":   "v2.users.{id}.outbound.contactlists.{id}.export",
		"v2.audits.entitytype.User.entityid.8f0e-1":       "v2.audits.entitytype.{id}.entityid.{id}",
		"v2.flows.outcomes.o-1":                           "v2.flows.outcomes.{id}",
		"v2.flows.f-1":                                    "v2.flows.{id}",
		"v2.users.u1.presense":                            "",
		"v2.users.{userId}.presence":                      "",
		"v2.users.{id}.presence":                          "",
		"v2.users..presence":                              "",
		"v2.users.u1.outbound.contactlists..export":       "",
		"v2.nonsense":                                     "",
		"v2.users.u1.presence.extra":                      "",
		"v2.users.u1?presence&routingStatus":              "",
		"v2.users.u1.outbound.contactlists.cl-9.exported": "",
	} {
		got, ok := c.Match(name)
		if got != want || ok != (want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// Of two templates that fit, the one with more fixed segments wins, so
// "v2.flows.outcomes" is not taken for a flow's id when a template names
// it.
func TestMatchPrefersFixedSegments(t *testing.T) {
	c := NewCatalog([]string{"v2.{id}.outcomes.{id}", "v2.flows.outcomes.{id}", "v2.flows.{id}.{id}"})
	if got, _ := c.Match("v2.flows.outcomes.o1"); got != "v2.flows.outcomes.{id}" {
		t.Fatalf("Match = %q", got)
	}
}

func TestNearest(t *testing.T) {
	c := NewCatalog(templates)
	for name, want := range map[string]string{
		"v2.users.u1.presense":                       "v2.users.{id}.presence",
		"v2.users.alice.presense":                    "v2.users.{id}.presence",
		"v2.users.8f0e6a2b-7c4d-4b1e.routingstatus":  "v2.users.{id}.routingStatus",
		"v2.users.{userId}.presence":                 "v2.users.{id}.presence",
		"v2.users.u1.conversation.calls":             "v2.users.{id}.conversations.calls",
		"v2.users.u1.outbound.contactlist.c1.export": "v2.users.{id}.outbound.contactlists.{id}.export",
	} {
		if got := c.Nearest(name); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", name, got, want)
		}
	}
	if got := NewCatalog(nil).Nearest("v2.users.u1.presence"); got != "" {
		t.Errorf("empty catalog: Nearest = %q", got)
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"presence", "presense", 1}, {"routingstatus", "routingStatus", 1},
	} {
		if got := distance(c.a, c.b, math.MaxInt); got != c.d {
			t.Errorf("distance(%q, %q) = %d, want %d", c.a, c.b, got, c.d)
		}
		if got := distance(c.a, c.b, 2); got != min(c.d, 2) {
			t.Errorf("distance(%q, %q) below 2 = %d, want %d", c.a, c.b, got, min(c.d, 2))
		}
	}
}
