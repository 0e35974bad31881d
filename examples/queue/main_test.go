package main

import (
	"slices"
	"testing"

	"github.com/gcnotify/notify"
)

// A notification with only some metrics keeps the others; aggregates
// change nothing.
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
	if total(q.Waiting) != 4 || total(q.Interacting) != 4 || q.onQueue() != "7" || !slices.Equal(q.media(), []string{"chat", "voice"}) {
		t.Errorf("waiting %d, interacting %d, on queue %s, media %q", total(q.Waiting), total(q.Interacting), q.onQueue(), q.media())
	}
}
