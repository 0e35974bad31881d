package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// numbered returns n presence topics of protocol p, sorted.
func numbered(p protocol, n int) []string {
	topics := make([]string, n)
	for i := range topics {
		topics[i] = p.topic(fmt.Sprintf("v2.users.%05d.presence", i))
	}
	return topics
}

// serverTopics returns the topics of every open connection on the server,
// failing the test if one holds more than a channel may or two hold the
// same topic.
func serverTopics(t *testing.T, p protocol, srv *notifytest.Server, channels map[string]bool) []string {
	t.Helper()
	var sets [][]string
	if p.name == "genesys" {
		for ch := range channels {
			sets = append(sets, srv.Subscriptions(ch))
		}
	} else {
		for _, c := range srv.TokenFrameConnections() {
			sets = append(sets, c.Topics)
		}
	}
	var all []string
	for _, s := range sets {
		if len(s) > notify.TopicsPerChannel {
			t.Fatalf("a connection holds %d topics", len(s))
		}
		all = append(all, s...)
	}
	slices.Sort(all)
	if n := len(all); len(slices.Compact(all)) != n {
		t.Fatal("a topic is subscribed on two connections")
	}
	return all
}

// awaitChannels waits for n distinct Connected events.
func awaitChannels(h *harness, n int) map[string]bool {
	h.t.Helper()
	chans := map[string]bool{}
	for len(chans) < n {
		chans[await[notify.Connected](h).ChannelID] = true
	}
	return chans
}

// awaitStats waits until the client's Stats satisfy ok, or fails the test
// after a minute.
func awaitStats(t *testing.T, c *notify.Client, ok func(notify.Stats) bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for !ok(c.Stats()) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("Stats never came: %+v", c.Stats())
		}
	}
}

func TestLargeSetIsShardedOverChannels(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
		h := start(t, p, srv)
		topics := numbered(p, 2500)
		if err := h.c.Subscribe(t.Context(), topics...); err != nil {
			t.Fatal(err)
		}
		chans := awaitChannels(h, 3)
		if got := serverTopics(t, p, srv, chans); !slices.Equal(got, h.c.Topics()) || len(got) != 2500 {
			t.Fatalf("server holds %s", setDiff(got, h.c.Topics()))
		}
		st := h.c.Stats()
		if st.State != notify.StateConnected || len(st.Channels) != 3 || st.Topics != 2500 {
			t.Fatalf("Stats = %+v", st)
		}
		for _, i := range []int{0, 1500, 2499} {
			h.publishAndReceive(topics[i], 2, map[string]bool{})
		}
	})
}

func TestTopicLimitIsNineteenChannels(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	h := start(t, genesysProtocol, srv)
	await[notify.Connected](h)
	topics := numbered(h.p, notify.MaxTopics)
	start := time.Now()
	if err := h.c.Subscribe(t.Context(), topics...); err != nil {
		t.Fatal(err)
	}
	chans := awaitChannels(h, notify.MaxChannels-1) // the first is connected already
	t.Logf("%d topics on %d channels in %v", notify.MaxTopics, notify.MaxChannels, time.Since(start))
	if got := srv.Stats().SubscriptionCalls; got != 1+notify.MaxChannels {
		t.Fatalf("%d subscription calls, want one per channel (and the first, empty one)", got)
	}
	chans[h.p.conn(t, srv, notify.Connected{})] = true
	for _, c := range srv.Channels() {
		chans[c.ID] = true
	}
	if got := serverTopics(t, genesysProtocol, srv, chans); len(got) != notify.MaxTopics {
		t.Fatalf("server holds %d topics", len(got))
	}
	if err := h.c.Subscribe(t.Context(), h.p.topic("v2.users.one-too-many.presence")); !errors.Is(err, notify.ErrTooManyTopics) {
		t.Fatalf("Subscribe past %d = %v", notify.MaxTopics, err)
	}
	if got := len(h.c.Topics()); got != notify.MaxTopics {
		t.Fatalf("%d topics after a refused Subscribe", got)
	}
}

// Removing topics closes a channel that is no longer needed; its topics
// move to another channel first, so their events keep arriving, once.
func TestShrinkingMovesTopicsWithoutGap(t *testing.T) {
	forBoth(t, func(t *testing.T, p protocol) {
		srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
		h := start(t, p, srv, notify.WithEventBuffer(1<<16))
		await[notify.Connected](h)
		topics := numbered(p, 2500)
		if err := h.c.Subscribe(t.Context(), topics...); err != nil {
			t.Fatal(err)
		}
		awaitChannels(h, 2)
		moving := topics[2400] // on the third channel

		var mu sync.Mutex
		var published []string
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("m%d", i)
				if _, delivered := srv.Publish(moving, map[string]string{"nonce": id}); delivered == 0 {
					t.Errorf("event %d reached no socket while its topic moved", i)
				}
				mu.Lock()
				published = append(published, id)
				mu.Unlock()
			}
		}()
		if err := h.c.Unsubscribe(t.Context(), topics[:1000]...); err != nil {
			t.Fatal(err)
		}
		// The client retires the third channel in the background.
		awaitStats(t, h.c, func(st notify.Stats) bool { return len(st.Channels) == 2 })
		close(stop)
		<-done

		seen := map[string]int{}
		for len(seen) < len(published) {
			switch ev := h.next().(type) {
			case notify.Notification:
				b, _ := notify.Decode[struct{ Nonce string }](ev)
				seen[b.Nonce]++
				if seen[b.Nonce] > 1 {
					t.Fatalf("event %s delivered twice", b.Nonce)
				}
			default:
				t.Fatalf("unexpected %T %+v while shrinking", ev, ev)
			}
		}
		st := h.c.Stats()
		if len(st.Channels) != 2 || st.Topics != 1500 {
			t.Fatalf("Stats after shrinking = %+v", st)
		}
		chans := map[string]bool{}
		for _, ch := range st.Channels {
			chans[ch] = true
		}
		for deadline := time.Now().Add(waitTimeout); srv.Stats().Open != 2; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d sockets open on the server, want 2", srv.Stats().Open)
			}
		}
		if got := serverTopics(t, p, srv, chans); !slices.Equal(got, h.c.Topics()) {
			t.Fatalf("server holds %s", setDiff(got, h.c.Topics()))
		}
		h.publishAndReceive(moving, 2, map[string]bool{})
		t.Logf("%d events published while their topic moved, each delivered once", len(published))
	})
}

// Unsubscribe waits for its own verdict only: retiring a channel that is
// no longer needed happens in the background, even while the server
// refuses every change on the channel its topics move to, and completes
// once it stops refusing.
func TestUnsubscribeDoesNotWaitForResharding(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	topics := numbered(genesysProtocol, 1500)
	h := startSubscribed(t, genesysProtocol, srv, topics)
	chans := awaitChannels(h, 2)
	first := ""
	for id := range chans {
		if slices.Contains(srv.Subscriptions(id), topics[0]) {
			first = id
		}
	}
	for id := range chans {
		if id != first { // every change on the second channel fails
			srv.FailNextOn("/api/v2/notifications/channels/"+id+"/subscriptions", 1<<30, http.StatusServiceUnavailable, 0)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() { res <- h.c.Unsubscribe(ctx, topics[:700]...) }()
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("Unsubscribe = %v, want its verdict: nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Unsubscribe still blocked a minute after its context ended")
	}
	if got := len(h.c.Topics()); got != 800 {
		t.Fatalf("%d topics after Unsubscribe, want 800", got)
	}
	for id := range chans {
		srv.FailNextOn("/api/v2/notifications/channels/"+id+"/subscriptions", 0, http.StatusServiceUnavailable, 0)
	}
	awaitStats(t, h.c, func(st notify.Stats) bool { return len(st.Channels) == 1 })
	if got := srv.Subscriptions(h.c.Stats().Channels[0]); !slices.Equal(got, h.c.Topics()) {
		t.Fatalf("the remaining channel holds %d topics, want the set's %d", len(got), len(h.c.Topics()))
	}
}

// A storm of drops, each while the recovery from the previous one is
// under way, leaves no channel dark: each ends connected and says so, and
// the server holds the set.
func TestDropStormLeavesNoChannelDark(t *testing.T) {
	srv := newServer(t, notifytest.Config{HeartbeatInterval: -1})
	h := startSubscribed(t, genesysProtocol, srv, numbered(genesysProtocol, notify.MaxTopics), notify.WithEventBuffer(1<<12))
	last := map[string]notify.Event{} // each channel's latest lifecycle event
	connected := func() int {
		n := 0
		for _, ev := range last {
			if _, ok := ev.(notify.Connected); ok {
				n++
			}
		}
		return n
	}
	record := func() notify.Event {
		ev := h.next()
		switch e := ev.(type) {
		case notify.Connected:
			last[e.ChannelID] = e
		case notify.Disconnected:
			if e.ChannelID != "" {
				last[e.ChannelID] = e
			}
		}
		return ev
	}
	for connected() < notify.MaxChannels {
		record()
	}
	for range 5 {
		srv.DropAll()
		// Drop again once a few channels are back, while the others
		// are still recovering.
		for back := 0; back < 3; {
			if _, ok := record().(notify.Connected); ok {
				back++
			}
		}
	}
	srv.DropAll()
	for connected() < notify.MaxChannels || len(last) != notify.MaxChannels {
		record()
	}
	st := h.c.Stats()
	if st.State != notify.StateConnected || len(st.Channels) != notify.MaxChannels {
		t.Fatalf("Stats after the storm = %+v", st)
	}
	chans := map[string]bool{}
	for _, id := range st.Channels {
		chans[id] = true
	}
	if got := serverTopics(t, genesysProtocol, srv, chans); !slices.Equal(got, h.c.Topics()) {
		t.Fatalf("server holds %s", setDiff(got, h.c.Topics()))
	}
}
