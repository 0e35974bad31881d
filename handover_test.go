package notify_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// Maintenance on every socket at once: 19 channels warned together hand
// over one after the other through the spare channel, each
// make-before-break, so the client never holds more than 20 channels (the
// fake evicts beyond that, like Genesys), no event is lost and no gap is
// reported, within the 3 s the warning gives.
func TestEveryChannelWarnedAtOnceHandsOverWithoutLoss(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: 50 * time.Millisecond, SocketClosingDelay: 3 * time.Second})
	h := start(t, genesysProtocol, srv, notify.WithEventBuffer(1<<20), notify.WithHeartbeatTimeout(time.Second))
	topics := numbered(genesysProtocol, notify.MaxTopics)
	if err := h.c.Subscribe(t.Context(), topics...); err != nil {
		t.Fatal(err)
	}
	for range notify.MaxChannels {
		await[notify.Connected](h)
	}
	// One topic per channel, published throughout the handovers.
	var probes []string
	for i := 0; i < len(topics); i += notify.TopicsPerChannel {
		probes = append(probes, topics[i])
	}
	if err := srv.WaitSubscribed(t.Context(), probes...); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	stopPublisher := sync.OnceFunc(func() { close(stop) })
	var published []string
	var wg sync.WaitGroup
	defer func() { stopPublisher(); wg.Wait() }()
	wg.Go(func() {
		// A steady stream (about 2,000 events a second over the 19
		// channels) rather than a loop that would take a core from the
		// handovers.
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id, delivered := srv.Publish(probes[i%len(probes)], map[string]int{"seq": i})
			if delivered == 0 {
				t.Errorf("event %d on %s reached no socket", i, probes[i%len(probes)])
			}
			published = append(published, id)
		}
	})
	warned := time.Now()
	srv.SocketClosingAll()
	got := map[string]int{}
	for handed := 0; handed < notify.MaxChannels; {
		switch ev := h.next().(type) {
		case notify.Notification:
			got[ev.CorrelationID]++
		case notify.Connected:
			if !ev.Reconnect || ev.Gap {
				t.Fatalf("Connected = %+v during maintenance", ev)
			}
			handed++
		default:
			t.Fatalf("%T %+v during maintenance", ev, ev)
		}
	}
	t.Logf("%d handovers in %v", notify.MaxChannels, time.Since(warned))
	stopPublisher()
	wg.Wait()
	for n := 0; n < len(published); {
		n = 0
		for _, id := range published {
			if got[id] > 0 {
				n++
			}
		}
		if n < len(published) {
			ev := h.next()
			nt, ok := ev.(notify.Notification)
			if !ok {
				t.Fatalf("%T %+v after maintenance", ev, ev)
			}
			got[nt.CorrelationID]++
		}
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
	// The spare channel is created once; each handover leaves its old
	// channel to the next.
	if st := srv.Stats(); st.ChannelsCreated != notify.DefaultMaxChannels {
		t.Fatalf("%d channels created, want %d", st.ChannelsCreated, notify.DefaultMaxChannels)
	}
	t.Logf("%d events published across %d handovers at once, each delivered once", len(published), notify.MaxChannels)
}

// A smaller channel limit lowers the topic limit and still leaves the
// spare channel for handovers.
func TestMaxChannelsLimitsTopics(t *testing.T) {
	srv := newServer(t, notifytest.Config{})
	h := start(t, genesysProtocol, srv, notify.WithMaxChannels(3))
	if err := h.c.Subscribe(t.Context(), numbered(genesysProtocol, 2*notify.TopicsPerChannel)...); err != nil {
		t.Fatal(err)
	}
	if err := h.c.Subscribe(t.Context(), fmt.Sprintf("v2.users.%s.presence", "one-too-many")); err == nil {
		t.Fatal("a third channel's worth of topics was accepted with WithMaxChannels(3)")
	}
	c := await[notify.Connected](h)
	await[notify.Connected](h)
	srv.SocketClosing(c.ChannelID)
	if next := await[notify.Connected](h); next.Gap || !next.Reconnect {
		t.Fatalf("Connected = %+v after a planned close", next)
	}
}

// With one channel there is no spare: a planned close is followed by a
// reconnect at once, with a gap.
func TestOneChannelFollowsAPlannedCloseAtOnce(t *testing.T) {
	srv := newServer(t, notifytest.Config{SocketClosingDelay: 50 * time.Millisecond})
	h := start(t, genesysProtocol, srv, notify.WithMaxChannels(1), notify.WithBackoff(time.Hour, time.Hour))
	c := await[notify.Connected](h)
	srv.SocketClosing(c.ChannelID)
	d := await[notify.Disconnected](h)
	if !errors.Is(d.Err, notify.ErrPlannedClose) || d.RetryIn != 0 {
		t.Fatalf("Disconnected = %+v, want ErrPlannedClose and no wait", d)
	}
	if next := await[notify.Connected](h); !next.Gap {
		t.Fatalf("Connected = %+v, want a gap", next)
	}
}
