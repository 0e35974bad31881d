package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify/examples/internal/screen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The demo, as a new user runs it, shows events and visible recoveries.
func TestDemoShowsEventsAndRecoveries(t *testing.T) {
	t.Setenv("GENESYS_CLIENT_ID", "")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	counts := map[string]int{}
	see := func(line string) bool {
		var l struct {
			Event     string
			Reconnect bool
			Gap       bool
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Errorf("line %q: %v", line, err)
		}
		counts[l.Event]++
		if l.Event == "connected" && l.Reconnect && l.Gap {
			counts["reconnected"]++
		}
		if l.Event == "notification" && counts["reconnected"] > 0 {
			counts["after reconnect"]++
		}
		return counts["notification"] > 0 && counts["disconnected"] > 0 && counts["after reconnect"] > 0
	}
	w := screen.Watch(see, cancel)
	start := time.Now()
	if err := run(ctx, w, nil, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if counts["after reconnect"] == 0 || counts["disconnected"] == 0 {
		t.Fatalf("no events and recoveries within %v: %v\n%s", time.Since(start), counts, w.String())
	}
	t.Logf("%v in %v", counts, time.Since(start))
}
