package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gcnotify/notify/bridge"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func noEnv(string) string { return "" }

func stderr() io.Writer {
	if testing.Verbose() {
		return os.Stderr
	}
	return io.Discard
}

// storeRE finds the embedded nats-server's temporary store in the output.
var storeRE = regexp.MustCompile(`msg="embedded nats-server started; its store is removed at exit" nats=\S+ store=(\S+)\n`)

// verifyRE is the demo's closing record.
var verifyRE = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="verified the stream" socket_drops=(\d+) verdict.published=(\d+) verdict.reached=(\d+) verdict.unreached=(\d+) verdict.stored=(\d+) verdict.duplicates=(\d+) verdict.lost=(\d+)( verdict.first_unreached=\d+)?$`)

// watcher collects a command's output and closes ready once ok holds for
// it.
type watcher struct {
	mu    sync.Mutex
	text  bytes.Buffer
	ok    func(text string) bool
	ready chan struct{}
	once  sync.Once
}

func newWatcher(ok func(text string) bool) *watcher {
	return &watcher{ok: ok, ready: make(chan struct{})}
}

// Write adds p to the output.
func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	if w.ok(w.text.String()) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// timeout bounds every wait of the tests; it is only reached on failure.
const timeout = 60 * time.Second

// runUntil runs Main with args until the output satisfies ok, then stops
// it as a signal does and returns its output and error.
func runUntil(t *testing.T, args []string, ok func(text string) bool) (string, error) {
	t.Helper()
	w := newWatcher(ok)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Main(ctx, args, noEnv, w, stderr()) }()
	select {
	case <-w.ready:
	case err := <-done:
		t.Fatalf("the demo ended by itself: %v\n%s", err, w)
	case <-time.After(timeout):
		cancel()
		<-done
		t.Fatalf("timed out waiting for the demo's output\n%s", w)
	}
	cancel()
	err := <-done
	return w.String(), err
}

var statusRE = regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=stream stream=GENESYS events=\d+ `)

// The demo, as a new user runs it: two replicas, socket drops and a NATS
// restart, status lines, a summary, and every event that reached a
// replica stored exactly once. An event published while no replica had a
// socket open could not be read by anyone and is not a loss; the feed
// knows exactly which events those are, and none of them may be in the
// stream either. The demo runs until its output has shown all of that,
// and is stopped while its nats-server is down: it starts it again, the
// bridges drain into it and the stream is read back once the connection of
// the command's monitor is back too.
func TestDemo(t *testing.T) {
	shown := []string{
		`msg="embedded nats-server started`,
		`msg="every replica is subscribed: publishing"`,
		`msg="dropped a Genesys socket" replica=t-1`,
		`msg="dropped a Genesys socket" replica=t-2`,
		`msg="nats-server started again`,
	}
	args := []string{"-status-every", "200ms", "-drop-every", "300ms", "-nats-restart-every", "1s", "-demo-rate", "400", "-replica", "t"}
	text, err := runUntil(t, args, func(text string) bool {
		for _, want := range shown {
			if !strings.Contains(text, want) {
				return false
			}
		}
		return len(statusRE.FindAllString(text, 3)) == 3 && strings.HasSuffix(text, `msg="nats-server stopped" for=500ms`+"\n")
	})
	defer func() {
		if t.Failed() {
			t.Log(text)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"msg=summary replica=t-1 ", "msg=summary replica=t-2 "} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	m := verifyRE.FindStringSubmatch(text)
	if m == nil {
		t.Fatal("no verify line")
	}
	n := make([]int, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.Atoi(m[i])
	}
	drops, published, reached, none, stored, dups, lost := n[1], n[2], n[3], n[4], n[5], n[6], n[7]
	if lost != 0 || dups != 0 || stored != reached || reached+none != published || reached == 0 || drops < 2 {
		t.Errorf("%d drops, %d published, %d reached a replica, %d reached none, %d stored, %d duplicates, %d lost",
			drops, published, reached, none, stored, dups, lost)
	}
	if strings.Contains(text, "although they reached no replica") {
		t.Error("the stream holds events that the feed says reached no replica")
	}
	store := storeRE.FindStringSubmatch(text)
	if store == nil {
		t.Fatal("no store in the output")
	}
	if _, err := os.Stat(store[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary store %s is still there: %v", store[1], err)
	}
}

func TestBenchMode(t *testing.T) {
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"-bench", "3000"}, noEnv, &out, stderr()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`msg="bench done" result.events=3000 result.elapsed=\S+ result.events_per_s=\d+ result.frames_written_in=\S+ result.stored=3000 result.duplicates=0 result.lost=0 result.unreached=0 result.dropped=0 result.client_dropped=0\n`).MatchString(out.String()) {
		t.Fatalf("bench output:\n%s", out.String())
	}
}

// closedPort returns a local TCP address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// With NATS unreachable all along, the demo stops as on a signal: the
// bridges give up after -drain-timeout, each with one error that names the
// replica, what it could not publish (at least its connected record) and
// why; nothing after the drain waits for NATS (the stream is not read
// back), so the command exits within the drain timeout of the stop.
func TestUnreachableNATS(t *testing.T) {
	url := "nats://" + closedPort(t)
	text, err := runUntil(t, []string{"-nats", url, "-drain-timeout", "1s", "-status-every", "0", "-replica", "u"}, func(text string) bool {
		return strings.Contains(text, `msg="every replica is subscribed: publishing"`)
	})
	if !errors.Is(err, bridge.ErrDrainTimeout) {
		t.Fatalf("Main: %v, want ErrDrainTimeout\n%s", err, text)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d errors, want one per replica:\n%v", len(lines), err)
	}
	for i, line := range lines {
		want := regexp.MustCompile(fmt.Sprintf(`^bridge: drain timed out: replica u-%d: \d+ notifications? and \d+ lifecycle records? not published within 1s: not connected to NATS at %s: .*connection refused$`,
			i+1, regexp.QuoteMeta(url)))
		if !want.MatchString(line) {
			t.Errorf("error %q, want %v", line, want)
		}
	}
	for _, want := range []string{
		"msg=summary replica=u-1 ",
		"msg=summary replica=u-2 ",
		`level=WARN msg="stream not read: not connected to NATS" stream=GENESYS nats=` + url,
		`level=WARN msg="stream not verified: not connected to NATS"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

// The output is one log: every line a log/slog record, text by default,
// JSON with -log-format json, and no rate of events until one can be
// measured, between two reads of the stream.
func TestOneLogFormat(t *testing.T) {
	textRecord := regexp.MustCompile(`^time=\S+ level=(DEBUG|INFO|WARN|ERROR) msg=`)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			// records returns the attributes of each line, failing the test
			// for a line that is not a record of the format.
			records := func(text string) []map[string]any {
				var recs []map[string]any
				for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
					rec := map[string]any{}
					if format == "json" {
						if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
							t.Errorf("not a JSON record: %q", line)
						}
					} else {
						if !textRecord.MatchString(line) {
							t.Errorf("not a text record: %q", line)
						}
						if m := regexp.MustCompile(`msg=("[^"]*"|\S+)`).FindStringSubmatch(line); m != nil {
							rec["msg"] = strings.Trim(m[1], `"`)
						}
						if strings.Contains(line, " events_per_s=") {
							rec["events_per_s"] = true
						}
					}
					recs = append(recs, rec)
				}
				return recs
			}
			stream := func(text string) (rates []bool) {
				for _, rec := range records(text) {
					if rec["msg"] == "stream" {
						rates = append(rates, rec["events_per_s"] != nil)
					}
				}
				return rates
			}
			args := []string{"-for", "1s", "-status-every", "100ms", "-drop-every", "0", "-demo-rate", "100", "-replica", "f"}
			if format == "json" { // text is the default
				args = append(args, "-log-format", "json")
			}
			var out bytes.Buffer
			if err := Main(context.Background(), args, noEnv, &out, stderr()); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			text := out.String()
			if rates := stream(text); len(rates) < 3 || rates[0] || !rates[1] || !rates[2] {
				t.Errorf("stream records with a rate: %v, want none in the first and one in each later", rates)
			}
			if t.Failed() {
				t.Log(text)
			}
		})
	}
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"-log-format", "xml"}, noEnv, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "-log-format must be text or json") {
		t.Errorf("-log-format xml: %v", err)
	}
}
