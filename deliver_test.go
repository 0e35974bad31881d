package notify

import (
	"reflect"
	"testing"
)

func TestOutboxFullBufferReportsDropsInOrder(t *testing.T) {
	o := newOutbox(3)
	defer o.shutdown()

	for i := range 5 {
		o.push(Notification{Topic: string(rune('a' + i))})
	}
	o.push(Connected{ChannelID: "c2"})
	o.push(Notification{Topic: "x"})
	o.push(Notification{Topic: "y"})

	// Drops in a row may come as one Dropped or several (a pump may be
	// delivering the first while the next is counted): their sum counts.
	want := []Event{
		Notification{Topic: "a"}, Notification{Topic: "b"}, Notification{Topic: "c"},
		Dropped{Count: 2},
		Connected{ChannelID: "c2"},
		// x and y came while the backlog was not empty: they are dropped
		// behind Connected, and the count says so.
		Dropped{Count: 2},
	}
	for i, w := range want {
		got := <-o.ch
		if d, ok := w.(Dropped); ok {
			n := 0
			for {
				g, ok := got.(Dropped)
				if !ok {
					t.Fatalf("event %d = %#v after %d dropped, want Dropped{%d}", i, got, n, d.Count)
				}
				if n += g.Count; n >= d.Count {
					break
				}
				got = <-o.ch
			}
			if n != d.Count {
				t.Fatalf("event %d: %d dropped, want %d", i, n, d.Count)
			}
			continue
		}
		if !sameEvent(got, w) {
			t.Fatalf("event %d = %#v, want %#v", i, got, w)
		}
	}
	o.push(Notification{Topic: "z"})
	if got := <-o.ch; !sameEvent(got, Notification{Topic: "z"}) {
		t.Fatalf("after draining got %#v, want z", got)
	}
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
