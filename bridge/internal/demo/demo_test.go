package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
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
var storeRE = regexp.MustCompile(`JetStream store (\S+) \(removed at exit\)`)

// verifyRE is the demo's closing line.
var verifyRE = regexp.MustCompile(`(?m)^verify: (\d+) socket drops; (\d+) events published: (\d+) reached a replica, (\d+) reached none \([^)]*\); stored (\d+), duplicates stored (\d+), lost (\d+)$`)

// The demo, as a new user runs it: two replicas, socket drops and a NATS
// restart, status lines, a summary, and every event that reached a
// replica stored exactly once. An event published while no replica had a
// socket open could not be read by anyone and is not a loss; the feed
// knows exactly which events those are, and none of them may be in the
// stream either.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-for", "4s", "-status-every", "500ms", "-drop-every", "500ms", "-nats-restart-every", "2s", "-demo-rate", "400", "-replica", "t"}
	if err := Main(context.Background(), args, noEnv, &out, stderr()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	defer func() {
		if t.Failed() {
			t.Log(text)
		}
	}()
	for _, want := range []string{
		"nats: embedded nats-server",
		"demo: every replica is subscribed: publishing",
		"demo: dropped the Genesys socket of replica t-1",
		"demo: dropped the Genesys socket of replica t-2",
		"demo: nats-server started again",
		"summary: replica t-1:",
		"summary: replica t-2:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d stream GENESYS: \d+ events stored`).FindAllString(text, -1)); n < 3 {
		t.Errorf("%d status lines with counts, want at least 3", n)
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
	if !regexp.MustCompile(`3000 events in .*: \d+ events/s .* stored 3000, duplicates stored 0, lost 0, reached no socket 0, dropped 0 by the bridge and 0 by the client`).MatchString(out.String()) {
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

// With NATS unreachable all along, the demo stops after -for: the bridges
// give up after -drain-timeout, each with one error that names the replica,
// what it could not publish and why; nothing after the drain waits for
// NATS (the stream is not read back), so the command exits within the drain
// timeout of the stop.
func TestUnreachableNATS(t *testing.T) {
	url := "nats://" + closedPort(t)
	var out bytes.Buffer
	start := time.Now()
	err := Main(context.Background(), []string{"-nats", url, "-for", "1s", "-drain-timeout", "1s", "-status-every", "0", "-replica", "u"}, noEnv, &out, stderr())
	t.Logf("exited %v after the start (-for 1s, -drain-timeout 1s)", time.Since(start).Round(time.Millisecond))
	text := out.String()
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
		"summary: replica u-1:",
		"summary: replica u-2:",
		"summary: stream GENESYS not read: not connected to NATS at " + url,
		"verify: not done: not connected to NATS",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}
