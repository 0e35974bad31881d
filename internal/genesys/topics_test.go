package genesys_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gcnotify/notify/internal/genesys"
	"github.com/gcnotify/notify/internal/wire"
)

func TestCheckTopic(t *testing.T) {
	for topic, want := range map[string]string{
		"v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence": "",
		"v2.users.u1?presence&routingStatus":                     "",
		"v2.users.{userId}.presence":                             "{userId} is a placeholder",
		"v2.users.u1?{part}":                                     "{part} is a placeholder",
		"users.u1.presence":                                      `Genesys topics are "v2."`,
		"v2.users..presence":                                     "non-empty dot-separated segments",
		"v2.users.u1?presence&":                                  "non-empty names joined by",
		"v2.users.u1 .presence":                                  "no spaces",
		"":                                                       "1 to 1024 bytes",
	} {
		err := genesys.CheckTopic(topic)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckTopic(%q) = %v, want nil", topic, err)
		case want != "" && (!errors.Is(err, wire.ErrInvalidTopic) || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckTopic(%q) = %v, want ErrInvalidTopic saying %q", topic, err, want)
		}
	}
}

func TestWeight(t *testing.T) {
	for topic, want := range map[string]int{
		"v2.users.u1.presence":                             1,
		"v2.users.u1?presence&routingStatus":               2,
		"v2.users.u1?presence&routingStatus&conversations": 3,
	} {
		if got := genesys.Weight(topic); got != want {
			t.Errorf("Weight(%q) = %d, want %d", topic, got, want)
		}
	}
}
