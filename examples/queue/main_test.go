package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A notification with only some metrics keeps the others; aggregates
// change no count; a snapshot replaces them all.
func TestCountsKeepAbsentMetrics(t *testing.T) {
	const id = "fd17"
	topic := notify.QueueObservationsTopic(id)
	at := time.Now()
	body := func(media string, metrics ...notify.ObservationMetric) json.RawMessage {
		b, err := json.Marshal(notify.QueueObservation{Group: notify.ObservationGroup{QueueID: id, MediaType: media},
			Data: []notify.ObservationData{{Metrics: metrics}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	obs := func(media string, metrics ...notify.ObservationMetric) notify.Event {
		at = at.Add(time.Millisecond)
		return notify.Notification{Topic: topic, Body: body(media, metrics...), Received: at}
	}
	count := func(metric, qualifier string, n int) notify.ObservationMetric {
		return notify.ObservationMetric{Metric: metric, Qualifier: qualifier, Stats: notify.ObservationStats{Count: n}}
	}
	m := notify.NewMirror()
	if c := countsOf(m, id); c.Waiting != nil || c.Interacting != nil || c.onQueue() != "-" {
		t.Errorf("counts of an unknown queue: %+v", c)
	}
	for _, ev := range []notify.Event{
		obs("voice", count("oWaiting", "", 3), count("oInteracting", "", 5)),
		obs("chat", count("oWaiting", "", 1)),
		obs("", count("oOnQueueUsers", "IDLE", 2), count("oOnQueueUsers", "INTERACTING", 5)),
	} {
		m.Apply(ev)
	}
	before := countsOf(m, id)
	m.Apply(obs("voice", count("tAnswered", "", 40)))
	if c := countsOf(m, id); !c.equal(before) {
		t.Errorf("an aggregate changed the counts from %+v to %+v", before, c)
	}
	m.Apply(obs("voice", count("oInteracting", "", 4)))
	c := countsOf(m, id)
	if total(c.Waiting) != "4" || total(c.Interacting) != "4" || c.onQueue() != "7" || !slices.Equal(c.media(), []string{"chat", "voice"}) {
		t.Errorf("waiting %s, interacting %s, on queue %s, media %q", total(c.Waiting), total(c.Interacting), c.onQueue(), c.media())
	}
	at = at.Add(time.Millisecond)
	m.Apply(notify.Snapshot{Topic: topic, Body: body("voice", count("oWaiting", "", 2), count("oInteracting", "", 1)), Taken: at})
	if c := countsOf(m, id); total(c.Waiting) != "2" || total(c.Interacting) != "1" || c.onQueue() != "-" {
		t.Errorf("after a snapshot: waiting %s, interacting %s, on queue %s", total(c.Waiting), total(c.Interacting), c.onQueue())
	}
}

// lineWriter hands each line a screen writes (one per Write) to a
// channel, until done.
type lineWriter struct {
	lines chan<- string
	done  <-chan struct{}
}

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w.lines <- strings.TrimSuffix(string(p), "\n"):
		return len(p), nil
	case <-w.done:
		return 0, context.Canceled
	}
}

// changeLine is a plain line that shows a queue.
var changeLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (update|snapshot) +"([^"]+)" (waiting=\S+ interacting=\S+ onQueue=\S+)$`)

// A watcher runs show on the demo's queues with the demo's client and a
// plain Screen, and reads its lines.
type watcher struct {
	t     *testing.T
	lines <-chan string
	ctx   context.Context
	done  chan struct{} // closed when show has returned err
	err   error
	// view is what the lines printed: each queue's last line, by name.
	view map[string]string
	b    *board
}

func watch(t *testing.T, srv *notifytest.Server) *watcher {
	c, err := demoClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	lines := make(chan string)
	b := newBoard(demoQueues)
	screen := newScreen(lineWriter{lines, ctx.Done()}, false, "Queues", b.rows)
	w := &watcher{t: t, lines: lines, done: make(chan struct{}), ctx: ctx, view: map[string]string{}, b: b}
	go func() {
		defer close(w.done)
		w.err = show(ctx, c, screen, b)
	}()
	t.Cleanup(func() {
		cancel()
		c.Close()
		<-w.done
	})
	return w
}

// next reads a line, and returns its status if it is a status line.
func (w *watcher) next() (status string) {
	w.t.Helper()
	var line string
	select {
	case line = <-w.lines:
	case <-w.done:
		w.t.Fatalf("show returned %v", w.err)
	case <-w.ctx.Done():
		w.t.Fatalf("waiting for a line: %v", w.ctx.Err())
	}
	if l := changeLine.FindStringSubmatch(line); l != nil {
		w.view[l[2]] = l[3]
		return ""
	}
	_, rest, _ := strings.Cut(line, " ")
	status, ok := strings.CutPrefix(rest, "status ")
	if !ok {
		w.t.Fatalf("unexpected line %q", line)
	}
	return status
}

// await reads lines up to a status line that starts with prefix.
func (w *watcher) await(prefix string) {
	w.t.Helper()
	for !strings.HasPrefix(w.next(), prefix) {
	}
}

// want returns the line of queue id that shows the fake's state.
func want(srv *notifytest.Server, id string) string {
	st := srv.QueueObservation(id)
	return fmt.Sprintf("waiting=%d interacting=%d onQueue=%d", st["oWaiting"], st["oInteracting"],
		st["oOnQueueUsers:IDLE"]+st["oOnQueueUsers:INTERACTING"])
}

// checkView fails the test unless the printed view and the table both show
// the fake's state of every queue.
func (w *watcher) checkView(srv *notifytest.Server, when string) {
	t := w.t
	t.Helper()
	table := w.b.rows()
	for _, q := range demoQueues {
		want := want(srv, q.ID)
		if got := w.view[q.Name]; got != want {
			t.Errorf("%s: %s printed as %q, want %q", when, q.Name, got, want)
		}
		st := srv.QueueObservation(q.ID)
		i := slices.IndexFunc(table, func(row []string) bool { return row[0] == q.Name })
		if row := table[i]; row[1] != strconv.Itoa(st["oWaiting"]) || row[2] != strconv.Itoa(st["oInteracting"]) {
			t.Errorf("%s: the table row of %s is %q, want %s", when, q.Name, row, want)
		}
	}
}

// After every drop during which counts changed, the view is the fake's
// state once "resynced" is printed: the changes missed are read back as
// snapshots. A change after the recovery arrives as a notification.
func TestViewRightAfterEachRecovery(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	t.Cleanup(srv.Close) // after the client's end, a cleanup of watch
	d := newDemo(srv)
	w := watch(t, srv)
	w.await("resynced: 3 topics")
	w.checkView(srv, "first read")
	for round := 1; round <= 3; round++ {
		// Keep the client away until the changes are made.
		srv.FailUpgrades(1000, http.StatusServiceUnavailable)
		srv.DropAll()
		w.await("reconnecting in ")
		for _, q := range demoQueues {
			d.change(q.ID)
		}
		srv.FailUpgrades(0, http.StatusServiceUnavailable)
		w.await("connected after a ")
		w.await("resynced: 3 topics")
		w.checkView(srv, fmt.Sprintf("round %d", round))
	}
	q := demoQueues[0]
	d.change(q.ID)
	for w.view[q.Name] != want(srv, q.ID) {
		w.next()
	}
}
