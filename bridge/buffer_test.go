package bridge

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"golang.org/x/oauth2"
)

type staticTokens struct{}

func (staticTokens) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "t"}, nil }

func note(i int) notify.Notification {
	return notify.Notification{Topic: "v2.t", Body: json.RawMessage(fmt.Sprint(i))}
}

func TestBufferOrderAndDrops(t *testing.T) {
	b := newBuffer(3, "r", slog.New(slog.DiscardHandler))
	now := time.Now()
	b.push(now, notify.Connected{ChannelID: "ch"})
	for i := range 5 {
		b.push(now, note(i))
	}
	b.push(now, notify.Disconnected{})
	b.push(now, note(5)) // still full: a new marker after the record
	if held, dropped, _ := b.counts(); held != 3 || dropped != 3 {
		t.Fatalf("held %d, dropped %d; want 3, 3", held, dropped)
	}
	var got []string
	for {
		e, ok := b.pop()
		if !ok {
			break
		}
		switch {
		case e.rec == nil:
			got = append(got, string(e.note.Body))
		case e.rec.Kind == KindDropped:
			got = append(got, fmt.Sprintf("dropped %d %s", e.rec.Count, e.rec.Source))
		default:
			got = append(got, e.rec.Kind)
		}
	}
	want := fmt.Sprint([]string{"connected", "0", "1", "2", "dropped 2 bridge", "disconnected", "dropped 1 bridge"})
	if fmt.Sprint(got) != want {
		t.Fatalf("popped %v, want %v", got, want)
	}
	b.push(now, note(9))
	if held, _, _ := b.counts(); held != 1 {
		t.Fatalf("held %d after draining, want 1", held)
	}
	b.close()
	if b.drained() {
		t.Fatal("drained with an entry left")
	}
	b.pop()
	b.push(now, note(10)) // ignored after close
	if !b.drained() {
		t.Fatal("not drained")
	}
}

func TestBufferCompacts(t *testing.T) {
	b := newBuffer(100_000, "r", slog.New(slog.DiscardHandler))
	now := time.Now()
	next := 0
	for i := range 50_000 {
		b.push(now, note(i))
		if i%2 == 0 {
			e, ok := b.pop()
			if !ok || string(e.note.Body) != fmt.Sprint(next) {
				t.Fatalf("pop %d: %v %s", next, ok, e.note.Body)
			}
			next++
		}
	}
	if held, _, _ := b.counts(); held != 25_000 || len(b.items)-b.head != 25_000 || b.head > 25_000 {
		t.Fatalf("held %d, items %d, head %d", held, len(b.items), b.head)
	}
}
