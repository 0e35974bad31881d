package notify

import (
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
)

// note returns notification i of topic "t".
func note(i int) Notification {
	return Notification{Topic: "t", CorrelationID: strconv.Itoa(i)}
}

// drain returns what o's channel holds once every goroutine of the bubble
// is blocked, again and again until it is empty: the rest of the stream.
func drain(o *outbox) []Event {
	var got []Event
	for {
		synctest.Wait()
		select {
		case ev := <-o.ch:
			got = append(got, ev)
		default:
			return got
		}
	}
}

func wantStream(t *testing.T, got []Event, want ...Event) {
	t.Helper()
	if !slices.EqualFunc(got, want, sameEvent) {
		t.Fatalf("stream:\n got %v\nwant %v", got, want)
	}
}

// When the buffer is full, notifications are counted into one Dropped per
// run of drops, in its place: behind the lifecycle events pushed before
// them, which are never dropped.
func TestOutboxFullBufferReportsDropsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOutbox(2)
		defer o.shutdown()
		o.push(note(0))
		o.push(note(1))
		o.push(Connected{ChannelID: "c2"})
		synctest.Wait() // the pump holds Connected, waiting for room
		for i := 2; i < 7; i++ {
			o.push(note(i))
		}
		o.push(Disconnected{ChannelID: "c2"})
		o.push(note(7))
		o.push(note(8))
		wantStream(t, drain(o), note(0), note(1), Connected{ChannelID: "c2"}, Dropped{Count: 5},
			Disconnected{ChannelID: "c2"}, Dropped{Count: 2})
		o.push(note(9))
		wantStream(t, drain(o), note(9))
		if n, d := o.notifications.Load(), o.dropped.Load(); n != 3 || d != 7 {
			t.Errorf("counted %d notifications delivered, %d dropped; want 3 and 7", n, d)
		}
	})
}

// A run of drops that goes on while its Dropped is on its way to the
// consumer is still one Dropped: the notification right behind it waits,
// and the drops after that one are the next run.
func TestOutboxOneDroppedPerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOutbox(2)
		defer o.shutdown()
		for i := range 3 { // 0 and 1 fill the buffer, 2 is dropped
			o.push(note(i))
		}
		synctest.Wait() // the pump holds Dropped{1}, waiting for room
		for i := 3; i < 10; i++ {
			o.push(note(i))
		}
		wantStream(t, drain(o), note(0), note(1), Dropped{Count: 1}, note(3), Dropped{Count: 6})
		// A Dropped in the buffer cannot grow either: the notification
		// right behind it waits, and the drops after it are the next run.
		for i := 10; i < 13; i++ { // 10 and 11 fill the buffer, 12 is dropped
			o.push(note(i))
		}
		synctest.Wait()
		<-o.ch // 10: Dropped{1} goes into the buffer
		synctest.Wait()
		for i := 13; i < 16; i++ {
			o.push(note(i))
		}
		wantStream(t, drain(o), note(11), Dropped{Count: 1}, note(13), Dropped{Count: 2})
	})
}

// onDropped hands over, for each Dropped, the topics of the notifications
// it counts, before the Dropped reaches the consumer: what it pushes comes
// after the Dropped.
func TestOutboxDroppedTopics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := newOutbox(1)
		defer o.shutdown()
		var calls [][]string
		o.onDropped = func(topics []string) {
			calls = append(calls, topics)
			o.push(Resynced{Topics: topics})
		}
		n := func(topic string) Notification { return Notification{Topic: topic} }
		o.push(n("a"))
		o.push(Connected{})
		synctest.Wait() // the pump holds Connected, waiting for room
		o.push(n("b"))
		o.push(n("a"))
		o.push(n("b"))
		o.push(Disconnected{})
		o.push(n("c"))
		wantStream(t, drain(o), n("a"), Connected{}, Dropped{Count: 3}, Disconnected{}, Dropped{Count: 1},
			Resynced{Topics: []string{"a", "b"}}, Resynced{Topics: []string{"c"}})
		o.push(n("x"))
		o.push(n("y"))
		synctest.Wait() // the pump holds Dropped{1} of y, Resynced [y] behind it
		o.push(n("z"))
		wantStream(t, drain(o), n("x"), Dropped{Count: 1}, Resynced{Topics: []string{"y"}}, Dropped{Count: 1},
			Resynced{Topics: []string{"z"}})
		if want := [][]string{{"a", "b"}, {"c"}, {"y"}, {"z"}}; !reflect.DeepEqual(calls, want) {
			t.Errorf("onDropped got %q, want %q", calls, want)
		}
	})
}

// However the consumer keeps up, each notification is delivered or counted
// by the one Dropped at its place, and no Dropped follows another.
func TestOutboxRunsUnderLoad(t *testing.T) {
	const total = 20000
	o := newOutbox(8)
	go func() {
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range total {
			o.push(note(i))
			if i%1000 == 0 {
				o.push(Connected{ChannelID: strconv.Itoa(i)})
			}
			if rng.IntN(2) == 0 {
				runtime.Gosched() // bursts and pauses
			}
		}
		o.push(Resynced{}) // the end
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	next, dropped, prevDropped, runs := 0, 0, false, 0
	for ev := range o.ch {
		if rng.IntN(8) == 0 {
			for range rng.IntN(200) {
				runtime.Gosched() // a consumer that falls behind now and then
			}
		}
		switch ev := ev.(type) {
		case Dropped:
			if prevDropped {
				t.Fatalf("a Dropped right after a Dropped, after notification %d", next-1)
			}
			dropped += ev.Count
			runs++
		case Notification:
			if i, _ := strconv.Atoi(ev.CorrelationID); i != next+dropped {
				t.Fatalf("notification %d after %d and %d dropped", i, next-1, dropped)
			}
			next += dropped + 1
			dropped = 0
		case Resynced:
			if next+dropped != total {
				t.Fatalf("at the end: %d delivered or dropped, want %d", next+dropped, total)
			}
			o.shutdown()
		}
		_, prevDropped = ev.(Dropped)
	}
	t.Logf("%d runs of drops, %d notifications delivered", runs, o.notifications.Load())
}

func TestOutboxNeverLosesLifecycleEvents(t *testing.T) {
	o := newOutbox(1)
	defer o.shutdown()
	for i := range 100 {
		o.push(Disconnected{ChannelID: string(rune(i))})
	}
	for i := range 100 {
		got := (<-o.ch).(Disconnected)
		if got.ChannelID != string(rune(i)) {
			t.Fatalf("event %d has channel %q", i, got.ChannelID)
		}
	}
}

func TestOutboxConcurrentProducersKeepTheirOrderAndCount(t *testing.T) {
	const producers, each = 4, 2000
	o := newOutbox(16)
	done := make(chan struct{})
	for p := range producers {
		go func() {
			for i := range each {
				o.push(Notification{Topic: string(rune('a' + p)), CorrelationID: string(rune(i))})
			}
			done <- struct{}{}
		}()
	}
	next := make(map[string]int)
	received, dropped := 0, 0
	finished := 0
	for received+dropped < producers*each {
		select {
		case <-done:
			finished++
			continue
		case ev := <-o.ch:
			switch ev := ev.(type) {
			case Dropped:
				dropped += ev.Count
			case Notification:
				i := int([]rune(ev.CorrelationID)[0])
				if i < next[ev.Topic] {
					t.Fatalf("producer %s: event %d after %d", ev.Topic, i, next[ev.Topic])
				}
				next[ev.Topic] = i + 1
				received++
			}
		}
	}
	for finished < producers {
		<-done
		finished++
	}
	o.shutdown()
	if _, open := <-o.ch; open {
		t.Fatal("channel not closed after shutdown")
	}
	t.Logf("received %d, dropped %d", received, dropped)
}

func TestOutboxShutdownKeepsBufferedEvents(t *testing.T) {
	o := newOutbox(4)
	o.push(Notification{Topic: "a"})
	o.shutdown()
	o.push(Notification{Topic: "late"})
	if got := <-o.ch; !sameEvent(got, Notification{Topic: "a"}) {
		t.Fatalf("got %#v", got)
	}
	if ev, open := <-o.ch; open {
		t.Fatalf("got %#v after shutdown", ev)
	}
}

func sameEvent(a, b Event) bool {
	an, aok := a.(Notification)
	bn, bok := b.(Notification)
	if aok && bok {
		return an.Topic == bn.Topic && an.CorrelationID == bn.CorrelationID
	}
	return reflect.DeepEqual(a, b)
}
