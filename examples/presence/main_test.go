package main

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify/examples/internal/screen"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var changeLine = regexp.MustCompile(`^\S+ (presence|routing|refresh) +"([^"]*)" presence="([^"]*)" since (\S+), routing="([^"]*)" since (\S+)$`)

// The demo, run as a new user runs it with -plain, shows every agent, the
// changes of presence and routing status, and recoveries: each reconnect
// reports the gap and refreshes every agent, and changes flow again after.
func TestDemoShowsChangesAndRecoveries(t *testing.T) {
	t.Setenv("GENESYS_CLIENT_ID", "")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	names := []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson"}
	presences := []string{"Available", "On Queue", "Busy", "Away", "Break", "Meal", "Meeting"}
	routings := []string{"OFF_QUEUE", "IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"}
	var (
		changes, changesAfterGap, reconnecting, gaps int
		refreshed                                    = map[string]int{}
	)
	enough := func() bool {
		for _, name := range names {
			if refreshed[name] < gaps+1 { // on the first connection and after every gap
				return false
			}
		}
		return reconnecting >= 2 && gaps >= 2 && changesAfterGap >= 2
	}
	see := func(line string) bool {
		if _, status, ok := strings.Cut(line, " status "); ok {
			switch {
			case strings.HasPrefix(status, "reconnecting in "):
				reconnecting++
			case strings.HasPrefix(status, "connected · gap: data may be stale, refresh failed"):
				t.Errorf("refresh failed: %s", line)
			case strings.HasPrefix(status, "connected · gap: data may be stale, refreshed"):
				gaps++
			}
			return enough()
		}
		m := changeLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected line %q", line)
			return true
		}
		why, name, presence, routing := m[1], m[2], m[3], m[5]
		if !slices.Contains(names, name) || !slices.Contains(presences, presence) || !slices.Contains(routings, routing) {
			t.Errorf("bad values in %q", line)
		}
		for _, since := range []string{m[4], m[6]} {
			if _, err := time.Parse("15:04:05", since); err != nil {
				t.Errorf("bad time in %q: %v", line, err)
			}
		}
		if why == "refresh" {
			refreshed[name]++
			return false // the status line follows
		}
		changes++
		if gaps > 0 {
			changesAfterGap++
		}
		return enough()
	}
	w := screen.Watch(see, cancel)
	if err := run(ctx, w, nil, true, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !enough() || t.Failed() {
		t.Fatalf("%d changes (%d after a gap), %d reconnecting, %d gaps, refreshes %v:\n%s",
			changes, changesAfterGap, reconnecting, gaps, refreshed, w.String())
	}
}

// Without -plain every change redraws the status line and the table in
// place.
func TestTableRedrawsInPlace(t *testing.T) {
	since := time.Date(2025, 3, 4, 9, 12, 31, 0, time.Local)
	agents := []*agent{
		{ID: "3b5e0f7a", Name: "Ada Lovelace", Presence: "On Queue", PresenceSince: since, Routing: "IDLE", RoutingSince: since},
		{ID: "8f0e6a2b"},
	}
	var out bytes.Buffer
	v := newScreen(&out, false, agents)
	v.Status("connected")
	changed(v, agents[0], "presence")
	frames := strings.Split(out.String(), "\x1b[H")
	if !strings.HasPrefix(out.String(), "\x1b[2J\x1b[H") || len(frames) != 3 {
		t.Fatalf("want a clear screen, then two frames each from the home position: %q", out.String())
	}
	frame := frames[2]
	for _, want := range []string{
		"connected\x1b[K\n",
		"AGENT ", "PRESENCE", "ROUTING",
		"Ada Lovelace  On Queue  09:12:31  IDLE     09:12:31\x1b[K\n",
		"8f0e6a2b      -         -         -        -\x1b[K\n",
	} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if !strings.HasSuffix(frame, "\x1b[J") {
		t.Errorf("frame does not clear below itself: %q", frame)
	}
}
