package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify/examples/internal/screen"

	"github.com/gcnotify/notify"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var countLine = regexp.MustCompile(`^\S+ (update|refresh) +"([^"]*)" waiting=(\d+) interacting=(\d+) onQueue=(\d+|-)$`)

// The demo, run as a new user runs it with -plain, shows every queue's
// counts as they change and recovers from drops: each reconnect reports the
// gap and refreshes every queue, and updates flow again after. The demo
// publishes only the metrics that changed, agents apart from conversations,
// and aggregates on the same topic, while every media type keeps at least
// one conversation waiting and one interacting and the agents on queue
// stay as many: a count that drops below that or an agent total that moves
// means an update was misread.
func TestDemoShowsCountsAndRecoveries(t *testing.T) {
	t.Setenv("GENESYS_CLIENT_ID", "")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	onQueue := map[string]int{"Support": 9, "Sales": 6, "Billing": 4}
	var (
		updates, updatesAfterGap, reconnecting, gaps int
		refreshed                                    = map[string]int{}
	)
	enough := func() bool {
		for name := range onQueue {
			if refreshed[name] < gaps+1 { // on the first connection and after every gap
				return false
			}
		}
		return reconnecting >= 2 && gaps >= 2 && updatesAfterGap >= 2
	}
	see := func(line string) bool {
		if _, status, ok := strings.Cut(line, " status "); ok {
			switch {
			case strings.HasPrefix(status, "reconnecting in "):
				reconnecting++
			case strings.HasPrefix(status, "connected · gap: data may be stale, refreshed"):
				gaps++
			case strings.Contains(status, "refresh failed"), strings.Contains(status, "could not load"):
				t.Errorf("refresh failed: %s", line)
			}
			return enough()
		}
		m := countLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected line %q", line)
			return true
		}
		name := m[2]
		waiting, _ := strconv.Atoi(m[3])
		interacting, _ := strconv.Atoi(m[4])
		want, known := onQueue[name]
		if !known {
			t.Errorf("unknown queue in %q", line)
		}
		if waiting < 3 || interacting < 3 || m[5] != strconv.Itoa(want) {
			t.Errorf("misread counts in %q", line)
		}
		if m[1] == "refresh" {
			refreshed[name]++
			return false // the status line follows
		}
		updates++
		if gaps > 0 {
			updatesAfterGap++
		}
		return enough()
	}
	w := screen.Watch(see, cancel)
	if err := run(ctx, w, nil, true, 700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !enough() || t.Failed() {
		t.Fatalf("%d updates (%d after a gap), %d reconnecting, %d gaps, refreshes %v:\n%s",
			updates, updatesAfterGap, reconnecting, gaps, refreshed, w.String())
	}
}

// A notification with only some metrics keeps the others; aggregates change
// nothing.
func TestApplyKeepsAbsentMetrics(t *testing.T) {
	q := newQueue("fd17", "Support")
	obs := func(media string, metrics ...notify.ObservationMetric) notify.QueueObservation {
		return notify.QueueObservation{Group: notify.ObservationGroup{QueueID: "fd17", MediaType: media},
			Data: []notify.ObservationData{{Metrics: metrics}}}
	}
	count := func(metric, qualifier string, n int) notify.ObservationMetric {
		return notify.ObservationMetric{Metric: metric, Qualifier: qualifier, Stats: notify.ObservationStats{Count: n}}
	}
	if !q.apply(obs("voice", count("oWaiting", "", 3), count("oInteracting", "", 5))) ||
		!q.apply(obs("chat", count("oWaiting", "", 1))) ||
		!q.apply(obs("", count("oOnQueueUsers", "IDLE", 2), count("oOnQueueUsers", "INTERACTING", 5))) {
		t.Fatal("apply reported no change")
	}
	if q.apply(obs("voice", count("tAnswered", "", 40))) || q.apply(obs("voice", count("oWaiting", "", 3))) {
		t.Error("apply reported a change for aggregates or an unchanged count")
	}
	if !q.apply(obs("voice", count("oInteracting", "", 4))) {
		t.Error("apply missed a change")
	}
	if total(q.Waiting) != 4 || total(q.Interacting) != 4 || q.onQueue() != "7" || byMedia(q) != "chat 1/0 voice 3/4" {
		t.Errorf("waiting %d, interacting %d, on queue %s, by media %q", total(q.Waiting), total(q.Interacting), q.onQueue(), byMedia(q))
	}
}

// Without -plain every change redraws the status line and the table in
// place.
func TestTableRedrawsInPlace(t *testing.T) {
	q := newQueue("fd17a7c2", "Support")
	q.Waiting["voice"], q.Interacting["voice"], q.OnQueue, q.HasOnQueue = 3, 5, 9, true
	q.Updated = time.Date(2025, 3, 4, 9, 12, 41, 0, time.Local)
	var out bytes.Buffer
	v := newScreen(&out, false, []*queue{q, newQueue("0a1b2c3d", "")})
	v.Status("connected")
	changed(v, q, "update")
	frames := strings.Split(out.String(), "\x1b[H")
	if !strings.HasPrefix(out.String(), "\x1b[2J\x1b[H") || len(frames) != 3 {
		t.Fatalf("want a clear screen, then two frames each from the home position: %q", out.String())
	}
	frame := frames[2]
	for _, want := range []string{
		"connected\x1b[K\n",
		"QUEUE ", "WAITING", "INTERACTING", "ON QUEUE",
		"Support   3        5            9         voice 3/5 ",
		"09:12:41\x1b[K\n",
		"0a1b2c3d  0        0            -         -",
	} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if !strings.HasSuffix(frame, "\x1b[J") {
		t.Errorf("frame does not clear below itself: %q", frame)
	}
}
