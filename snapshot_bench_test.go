package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// BenchmarkResync measures one full resynchronization of a large roster
// against notifytest: 1,000 users (presence and routing status) and 100
// queues, 2,100 topics spread over the channels they need. Each iteration
// drops every socket and waits until every channel has reported the drop,
// connected again and delivered its Resynced; it reports the REST reads
// that took (the fake's PresenceReads, UserReads and ObservationQueries)
// and its wall time.
func BenchmarkResync(b *testing.B) {
	const users, queues = 1000, 100
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: -1})
	defer srv.Close()
	var topics []string
	for i := range users {
		u := fmt.Sprintf("bench-user-%04d", i)
		srv.SetPresence(u, presences[i%len(presences)])
		srv.SetRoutingStatus(u, statuses[i%len(statuses)])
		topics = append(topics, notify.UserPresenceTopic(u), notify.UserRoutingStatusTopic(u))
	}
	for i := range queues {
		q := fmt.Sprintf("bench-queue-%03d", i)
		srv.SetQueueObservation(q, map[string]int{"oWaiting": i, "oInteracting": i % 7, "oOnQueueUsers:IDLE": i % 5})
		topics = append(topics, notify.QueueObservationsTopic(q))
	}

	c, err := notify.New(srv.TokenSource(), notify.WithAPIBaseURL(srv.URL()), notify.WithSnapshots(),
		// A budget far above the reads of a resync (the default, 120 a
		// minute, would pace the iterations after the first few): this
		// measures the resync, not the budget.
		notify.WithRequestBudget(1_000_000),
		// Reconnect at once, so that the backoff does not dominate.
		notify.WithBackoff(0, time.Millisecond),
		// Room for every snapshot of a resync.
		notify.WithEventBuffer(2*len(topics)))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	if err := c.Subscribe(ctx, topics...); err != nil {
		b.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	defer func() {
		c.Close()
		<-runErr
	}()

	// resync reads events until every channel has connected and delivered
	// the Resynced of its topics, after drops disconnections if drops is
	// set; it returns the channels and the snapshots it saw.
	resync := func(drops bool, channels int) (connected, snapshots int) {
		disconnected, resynced := 0, 0
		for resynced < len(topics) || drops && disconnected < channels {
			var ev notify.Event
			select {
			case ev = <-c.Events():
			case <-ctx.Done():
				b.Fatalf("resync: %v after %d disconnections, %d connections, %d of %d topics resynced",
					ctx.Err(), disconnected, connected, resynced, len(topics))
			}
			switch ev := ev.(type) {
			case notify.Disconnected:
				disconnected++
			case notify.Connected:
				connected++
			case notify.Snapshot:
				snapshots++
			case notify.Resynced:
				if ev.Err != nil || len(ev.Skipped) > 0 {
					b.Fatalf("Resynced skipped %d topics: %v", len(ev.Skipped), ev.Err)
				}
				resynced += len(ev.Topics)
			case notify.Dropped:
				b.Fatalf("%d events dropped", ev.Count)
			}
		}
		return connected, snapshots
	}
	channels, _ := resync(false, 0) // the first connection's snapshots

	var (
		before   = srv.Stats()
		start    = time.Now()
		n        = 0
		snapshot = 0
	)
	for b.Loop() {
		srv.DropAll()
		_, s := resync(true, channels)
		snapshot += s
		n++
	}
	elapsed := time.Since(start)
	after := srv.Stats()
	per := func(x, y int) float64 { return float64(y-x) / float64(n) }
	b.ReportMetric(per(before.PresenceReads, after.PresenceReads), "presence-reads/resync")
	b.ReportMetric(per(before.UserReads, after.UserReads), "user-reads/resync")
	b.ReportMetric(per(before.ObservationQueries, after.ObservationQueries), "observation-queries/resync")
	b.ReportMetric(per(before.PresenceReads+before.UserReads+before.ObservationQueries,
		after.PresenceReads+after.UserReads+after.ObservationQueries), "reads/resync")
	b.ReportMetric(float64(snapshot)/float64(n), "snapshots/resync")
	b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(n), "ms/resync")
	b.ReportMetric(float64(channels), "channels")
}
