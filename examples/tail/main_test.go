package main

import (
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

// tally is the io.Writer given to run: it counts the JSON lines as they
// come and ends the run once the demo has shown what a new user should
// see, so the test takes as long as the demo needs, not a fixed time.
type tally struct {
	t       *testing.T
	all     bytes.Buffer
	partial bytes.Buffer
	counts  map[string]int
	cancel  context.CancelFunc
}

func (w *tally) Write(p []byte) (int, error) {
	w.all.Write(p)
	w.partial.Write(p)
	for {
		line, err := w.partial.ReadBytes('\n')
		if err != nil {
			w.partial.Write(line)
			return len(p), nil
		}
		var l struct {
			Event     string
			Reconnect bool
			Gap       bool
		}
		if err := json.Unmarshal(line, &l); err != nil {
			w.t.Errorf("line %q: %v", line, err)
		}
		w.counts[l.Event]++
		if l.Event == "connected" && l.Reconnect && l.Gap {
			w.counts["reconnected"]++
		}
		if l.Event == "notification" && w.counts["reconnected"] > 0 {
			w.counts["after reconnect"]++
		}
		if w.counts["notification"] > 0 && w.counts["disconnected"] > 0 && w.counts["after reconnect"] > 0 {
			w.cancel()
		}
	}
}

// The demo, as a new user runs it, shows events and visible recoveries.
func TestDemoShowsEventsAndRecoveries(t *testing.T) {
	t.Setenv("GENESYS_CLIENT_ID", "")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	w := &tally{t: t, counts: map[string]int{}, cancel: cancel}
	start := time.Now()
	if err := run(ctx, w, nil, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if w.counts["after reconnect"] == 0 || w.counts["disconnected"] == 0 {
		t.Fatalf("no events and recoveries within %v: %v\n%s", time.Since(start), w.counts, w.all.String())
	}
	t.Logf("%v in %v", w.counts, time.Since(start))
}
