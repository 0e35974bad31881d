package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The demo, as a new user runs it, shows events and visible recoveries.
func TestDemoShowsEventsAndRecoveries(t *testing.T) {
	t.Setenv("GENESYS_CLIENT_ID", "")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, nil, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	afterReconnect := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l struct {
			Event     string
			Reconnect bool
			Gap       bool
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		counts[l.Event]++
		if l.Event == "connected" && l.Reconnect && l.Gap {
			counts["reconnected"]++
		}
		if l.Event == "notification" && counts["reconnected"] > 0 {
			afterReconnect++
		}
	}
	if counts["notification"] == 0 || counts["disconnected"] == 0 || counts["reconnected"] == 0 || afterReconnect == 0 {
		t.Fatalf("output lacks events or recoveries: %v, %d notifications after a reconnect\n%s", counts, afterReconnect, out.String())
	}
}
