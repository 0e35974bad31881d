package demo_test

import (
	"encoding/json"
	"flag"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/internal/demo"
	"github.com/gcnotify/notify/notifytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const topic = "v2.users.42.presence"

// client returns a client of srv subscribed to topic, running until the
// test ends, past its first Connected.
func client(t *testing.T, srv *notifytest.Server) *notify.Client {
	c, err := demo.Client(srv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	if err := c.Subscribe(ctx, topic); err != nil {
		t.Fatal(err)
	}
	go c.Run(ctx)
	if _, ok := (<-c.Events()).(notify.Connected); !ok {
		t.Fatal("the first event is not a Connected")
	}
	if err := srv.WaitSubscribed(ctx, topic); err != nil {
		t.Fatal(err)
	}
	return c
}

// A demo calls Step every Tick, in order, and drops every socket every
// DropEvery, then calls Away; stop ends it, waits for its last Step and
// closes the server.
func TestStartStepsDropsAndStops(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	c := client(t, srv)
	var stopped atomic.Bool
	away := make(chan struct{}, 1)
	stop := demo.Start(t.Context(), srv, demo.Demo{Tick: time.Millisecond, DropEvery: 50 * time.Millisecond, Step: func(n int) {
		if stopped.Load() {
			t.Error("Step called after stop returned")
		}
		srv.Publish(topic, map[string]int{"n": n})
	}, Away: func() {
		select {
		case away <- struct{}{}:
		default:
		}
	}})
	last := -1
	for ev := range c.Events() {
		if _, ok := ev.(notify.Disconnected); ok {
			break
		}
		var body struct{ N int }
		if n, ok := ev.(notify.Notification); !ok || json.Unmarshal(n.Body, &body) != nil || body.N <= last {
			t.Fatalf("after step %d: %#v", last, ev)
		}
		last = body.N
	}
	if last < 0 {
		t.Fatal("dropped before any step")
	}
	select {
	case <-away:
	case <-t.Context().Done():
		t.Fatal("Away not called after the drop")
	}
	stop()
	stopped.Store(true)
	if st := srv.Stats(); st.Open != 0 {
		t.Errorf("%d sockets open after stop, want the server closed", st.Open)
	}
}

// DropEvery zero never drops: the client gets every step of a long run.
func TestStartDropEveryZeroNeverDrops(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	c := client(t, srv)
	const steps = 200
	stop := demo.Start(t.Context(), srv, demo.Demo{Tick: time.Millisecond, Step: func(n int) {
		if n < steps {
			srv.Publish(topic, map[string]int{"n": n})
		}
	}})
	defer stop()
	for n := range steps {
		ev := <-c.Events()
		if e, ok := ev.(notify.Notification); !ok || string(e.Body) != `{"n":`+strconv.Itoa(n)+`}` {
			t.Fatalf("step %d: %#v", n, ev)
		}
	}
	if st := srv.Stats(); st.Sockets != 1 {
		t.Errorf("%d sockets accepted, want the first one only", st.Sockets)
	}
}

// -drop-every takes a duration, 3s by default, and refuses a negative one.
func TestDropEveryFlag(t *testing.T) {
	saved := flag.CommandLine
	defer func() { flag.CommandLine = saved }()
	flag.CommandLine = flag.NewFlagSet("demo", flag.ContinueOnError)
	flag.CommandLine.SetOutput(new(strings.Builder))
	d := demo.DropEvery()
	if *d != 3*time.Second {
		t.Errorf("default %v, want 3s", *d)
	}
	if err := flag.CommandLine.Parse([]string{"-drop-every", "700ms"}); err != nil || *d != 700*time.Millisecond {
		t.Errorf("-drop-every 700ms: %v, %v", *d, err)
	}
	err := flag.CommandLine.Parse([]string{"-drop-every", "-1s"})
	if err == nil || !strings.Contains(err.Error(), "-1s is negative; 0 never drops") {
		t.Errorf("-drop-every -1s: %v, want it refused", err)
	}
}
