package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lineWriter hands each line a Screen writes (one per Write) to a
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

// changeLine is a plain line that shows an agent.
var changeLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (presence|routing|snapshot) +"([^"]+)" ([A-Za-z ]+|-), ([A-Z_]+|-)$`)

// A watcher runs show on the demo's agents with the demo's client and a
// plain Screen, and reads its lines.
type watcher struct {
	t     *testing.T
	lines <-chan string
	ctx   context.Context
	done  chan struct{} // closed when show has returned err
	err   error
	// view is what the lines printed: each agent's last line, by name.
	view map[string][2]string
	m    *notify.Mirror
}

func watch(t *testing.T, srv *notifytest.Server) *watcher {
	c, err := demoClient(srv)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	lines := make(chan string)
	m := notify.NewMirror()
	screen := notifytest.NewScreen(lineWriter{lines, ctx.Done()}, false, "Agents", func() [][]string { return rows(demoAgents, m) })
	w := &watcher{t: t, lines: lines, done: make(chan struct{}), ctx: ctx, view: map[string][2]string{}, m: m}
	go func() {
		defer close(w.done)
		w.err = show(ctx, c, screen, demoAgents, m)
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
		w.view[l[2]] = [2]string{l[3], l[4]}
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

// awaitView reads lines until the printed view shows the fake's state of
// every agent.
func (w *watcher) awaitView(srv *notifytest.Server) {
	w.t.Helper()
	for {
		same := true
		for _, a := range demoAgents {
			presence, _ := srv.Presence(a.ID)
			routing, _ := srv.RoutingStatus(a.ID)
			same = same && w.view[a.Name] == [2]string{presence, routing}
		}
		if same {
			return
		}
		w.next()
	}
}

// checkView fails the test unless the printed view and the table both show
// the fake's state of every agent.
func (w *watcher) checkView(srv *notifytest.Server, when string) {
	t := w.t
	t.Helper()
	table := rows(demoAgents, w.m)
	for i, a := range demoAgents {
		presence, _ := srv.Presence(a.ID)
		routing, _ := srv.RoutingStatus(a.ID)
		want := [2]string{presence, routing}
		if got := w.view[a.Name]; got != want {
			t.Errorf("%s: %s printed as %v, want %v", when, a.Name, got, want)
		}
		if row := table[i+1]; row[1] != presence || row[3] != routing {
			t.Errorf("%s: the table row of %s is %q, want %v", when, a.Name, row, want)
		}
	}
}

// After every drop during which agents changed, the view is the fake's
// state once "resynced" is printed: the changes missed are read back as
// snapshots. A change after the recovery arrives as a notification.
func TestViewRightAfterEachRecovery(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	t.Cleanup(srv.Close) // after the client's end, a cleanup of watch
	d := newDemo(srv)
	w := watch(t, srv)
	w.await("resynced: 8 topics")
	w.checkView(srv, "first read")
	for round := 1; round <= 3; round++ {
		// Keep the client away until the changes are made.
		srv.FailUpgrades(1000, http.StatusServiceUnavailable)
		srv.DropAll()
		w.await("reconnecting in ")
		for _, a := range demoAgents {
			d.change(a.ID)
		}
		srv.FailUpgrades(0, http.StatusServiceUnavailable)
		w.await("connected after a ")
		w.await("resynced: 8 topics")
		w.checkView(srv, fmt.Sprintf("round %d", round))
	}
	a := demoAgents[0]
	presence, _ := srv.Presence(a.ID)
	presence = other(demoPresences, presence)
	srv.SetPresence(a.ID, presence)
	for w.view[a.Name][0] != presence {
		w.next()
	}
}

// A reconnect during which no agent changed prints no agent again: the
// snapshots read after it find the state the table shows, although their
// bodies differ from the notifications' that set it (the presence
// snapshot has userId and no primary, the routing status one has userId).
func TestUnchangedResyncPrintsNothing(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	t.Cleanup(srv.Close) // after the client's end, a cleanup of watch
	newDemo(srv)
	w := watch(t, srv)
	w.await("resynced: 8 topics")
	for round := 1; round <= 2; round++ {
		// Every agent's state comes from a notification.
		for _, a := range demoAgents {
			presence, _ := srv.Presence(a.ID)
			routing, _ := srv.RoutingStatus(a.ID)
			srv.SetPresence(a.ID, other(demoPresences, presence))
			srv.SetRoutingStatus(a.ID, other(demoRouting, routing))
		}
		w.awaitView(srv)
		srv.DropAll()
		w.await("connected after a ")
		for {
			status := w.next()
			if status == "" {
				t.Fatalf("round %d: an agent was printed again after a reconnect that changed nothing", round)
			}
			if strings.HasPrefix(status, "resynced: 8 topics") {
				break
			}
		}
	}
}
