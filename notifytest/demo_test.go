package notifytest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/notifytest"
)

// demoTopic is the topic the tests' demos publish on.
const demoTopic = "v2.users.42.presence"

// startDemo runs d on the harness's server and returns a subscribed socket
// and a channel that receives RunDemo's result.
func (h *harness) startDemo(ctx context.Context, d notifytest.Demo) (*websocket.Conn, <-chan error) {
	h.t.Helper()
	ch := h.create(token)
	c := h.dial(ch)
	h.put(ch.ID, demoTopic)
	done := make(chan error, 1)
	go func() { done <- h.srv.RunDemo(ctx, d) }()
	return c, done
}

// publishStep returns a Demo.Step that publishes its n on demoTopic.
func publishStep(srv *notifytest.Server) func(n int) {
	return func(n int) { srv.Publish(demoTopic, map[string]int{"n": n}) }
}

// A demo publishes a change every tick and drops the socket every
// DropEvery: a client reads the steps in order, then loses its socket.
func TestDemoPublishesAndDrops(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	c, done := h.startDemo(ctx, notifytest.Demo{
		Tick: time.Millisecond, DropEvery: 50 * time.Millisecond, Step: publishStep(h.srv),
	})
	last := -1
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			if last < 0 {
				t.Fatalf("socket ended before any step: %v", err)
			}
			break // dropped
		}
		var e event
		decode(t, data, &e)
		var body struct{ N int }
		decode(t, e.EventBody, &body)
		if body.N <= last {
			t.Fatalf("step %d after step %d", body.N, last)
		}
		last = body.N
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("RunDemo = %v, want context.Canceled", err)
	}
}

// DropEvery zero never drops: the socket gets every step of a long run
// and stays open.
func TestDemoDropEveryZeroNeverDrops(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const steps = 200
	c, done := h.startDemo(ctx, notifytest.Demo{Tick: time.Millisecond, Step: func(n int) {
		if n < steps {
			h.srv.Publish(demoTopic, map[string]int{"n": n})
		}
	}})
	for n := range steps {
		if e := read(t, c); !strings.Contains(string(e.EventBody), `"n":`+strconv.Itoa(n)+`}`) {
			t.Fatalf("step %d: got %s", n, e.EventBody)
		}
	}
	if st := h.srv.Stats(); st.Sockets != 1 || st.Open != 1 {
		t.Fatalf("after %d steps: %d sockets accepted, %d open; want the first one, still open", steps, st.Sockets, st.Open)
	}
	cancel()
	<-done
}

// Close ends a demo and waits for it: once Close has returned, Step is
// not called again, and RunDemo returns nil.
func TestDemoEndsWithClose(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	started := make(chan struct{})
	var closed atomic.Bool
	done := make(chan error, 1)
	go func() {
		done <- srv.RunDemo(t.Context(), notifytest.Demo{Tick: time.Millisecond, Step: func(n int) {
			if closed.Load() {
				t.Error("Step called after Close returned")
			}
			if n == 0 {
				close(started)
			}
		}})
	}()
	<-started
	srv.Close()
	closed.Store(true)
	if err := <-done; err != nil {
		t.Fatalf("RunDemo = %v, want nil after Close", err)
	}
	if err := srv.RunDemo(t.Context(), notifytest.Demo{}); err != nil {
		t.Fatalf("RunDemo on a closed server = %v, want nil at once", err)
	}
}

// A negative duration is refused at once, naming it.
func TestDemoNegativeDuration(t *testing.T) {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	for _, d := range []notifytest.Demo{{Tick: -time.Second}, {DropEvery: -time.Second}} {
		err := srv.RunDemo(t.Context(), d)
		if err == nil || !strings.Contains(err.Error(), "-1s") {
			t.Errorf("RunDemo(%+v) = %v, want an error naming -1s", d, err)
		}
	}
}

// The environment selects Genesys Cloud (all three variables), the demo
// (none), or an error that names the missing ones.
func TestDemoCredentialsFromEnv(t *testing.T) {
	all := map[string]string{
		"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "secret", "GENESYS_ENVIRONMENT": "mypurecloud.ie",
	}
	getenv := func(env map[string]string) func(string) string {
		return func(name string) string { return env[name] }
	}
	c, ok, err := notifytest.CredentialsFromEnv(getenv(all))
	if want := (notifytest.Credentials{ClientID: "id", ClientSecret: "secret", Environment: "mypurecloud.ie"}); err != nil || !ok || c != want {
		t.Errorf("all set: %+v, %v, %v; want %+v", c, ok, err, want)
	}
	if c, ok, err := notifytest.CredentialsFromEnv(getenv(nil)); err != nil || ok || c != (notifytest.Credentials{}) {
		t.Errorf("none set: %+v, %v, %v; want demo mode", c, ok, err)
	}
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"GENESYS_CLIENT_ID"}, "GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT are not set, but GENESYS_CLIENT_ID is"},
		{[]string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET"}, "GENESYS_ENVIRONMENT is not set, but GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET are"},
		{[]string{"GENESYS_ENVIRONMENT"}, "GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET are not set, but GENESYS_ENVIRONMENT is"},
	} {
		env := map[string]string{}
		for _, name := range tc.set {
			env[name] = all[name]
		}
		c, ok, err := notifytest.CredentialsFromEnv(getenv(env))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") || ok || c != (notifytest.Credentials{}) {
			t.Errorf("%v set: %+v, %v, %v; want an error starting %q", tc.set, c, ok, err, tc.want)
		}
	}
}

// Off a terminal, a Screen writes one time-stamped line per change and no
// escape codes, and does not build its table.
func TestDemoScreenPlain(t *testing.T) {
	var out bytes.Buffer
	s := notifytest.NewScreen(&out, false, "Agents", func() [][]string {
		t.Error("table built for plain output")
		return nil
	})
	s.Status("connected")
	s.Change("presence %q %s", "Ada Lovelace", "On Queue")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (status connected|presence "Ada Lovelace" On Queue)$`)
	if len(lines) != 2 || !want.MatchString(lines[0]) || !want.MatchString(lines[1]) || strings.Contains(out.String(), "\x1b") {
		t.Fatalf("want two plain lines, got %q", out.String())
	}
}

// On a terminal, every change redraws the title, the status and the table
// from the top left corner, clearing what the previous frame left, within
// 80 columns.
func TestDemoScreenRedraw(t *testing.T) {
	var out bytes.Buffer
	rows := [][]string{
		{"AGENT", "PRESENCE"},
		{"Ada Lovelace", "On Queue"},
		{"3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b", "-"},
	}
	s := notifytest.NewScreen(&out, true, "Agents", func() [][]string { return rows })
	s.Status("connected")
	s.Change("ignored %s", "on a terminal")
	s.Status("reconnecting in 1.2s: " + strings.Repeat("a long error ", 10))
	frames := strings.Split(out.String(), "\x1b[H")
	if len(frames) != 4 || frames[0] != "" {
		t.Fatalf("want three frames, each from the top left corner: %q", out.String())
	}
	for i, frame := range frames[1:] {
		body, ok := strings.CutSuffix(frame, "\x1b[J")
		if !ok {
			t.Fatalf("frame %d does not clear below itself: %q", i, frame)
		}
		var lines []string
		for line := range strings.Lines(body) {
			l, ok := strings.CutSuffix(line, "\x1b[K\n")
			if !ok {
				t.Fatalf("frame %d: line %q does not clear to its end", i, line)
			}
			if n := len([]rune(l)); n > 80 {
				t.Errorf("frame %d: line %q is %d characters wide", i, l, n)
			}
			lines = append(lines, l)
		}
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "Agents · ") || lines[1] != "" {
			t.Fatalf("frame %d: want a title, a blank line and three rows: %q", i, lines)
		}
		if want := []string{
			"AGENT                     PRESENCE",
			"Ada Lovelace              On Queue",
			"3b5e0f7a-2d1c-4e8b-9a6f…  -",
		}; !slices.Equal(lines[2:], want) {
			t.Errorf("frame %d: table\n%s\nwant\n%s", i, strings.Join(lines[2:], "\n"), strings.Join(want, "\n"))
		}
	}
	if title := strings.SplitN(frames[3], "\x1b[K", 2)[0]; !strings.Contains(title, "reconnecting in 1.2s: a long") || !strings.HasSuffix(title, "…") {
		t.Errorf("the long status is not cut with …: %q", title)
	}
}

// A Screen stops at the first write error and reports it.
func TestDemoScreenWriteError(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close()
	s := notifytest.NewScreen(w, false, "Queues", nil)
	s.Status("connected")
	s.Change("update")
	if err := s.Err(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Err = %v, want the write error", err)
	}
}

// Pipes, files and buffers are not terminals.
func TestDemoTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, out := range map[string]io.Writer{"pipe": w, "file": f, "buffer": &bytes.Buffer{}, "nil file": (*os.File)(nil)} {
		if notifytest.Terminal(out) {
			t.Errorf("%s: Terminal = true", name)
		}
	}
}
