package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

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

// The demo, as a new user runs it: two replicas, socket drops and a NATS
// restart, status lines, a summary, nothing lost and nothing stored twice.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-for", "4s", "-status-every", "500ms", "-drop-every", "500ms", "-nats-restart-every", "2s", "-demo-rate", "400", "-replica", "t"}
	if err := Main(context.Background(), args, noEnv, &out, stderr()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"nats: embedded nats-server",
		"demo: dropped the Genesys socket of replica t-1",
		"demo: dropped the Genesys socket of replica t-2",
		"demo: nats-server started again",
		"summary: replica t-1:",
		"summary: replica t-2:",
		"duplicates stored 0, lost 0 (0 reached no replica)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d stream GENESYS: \d+ events stored`).FindAllString(text, -1)); n < 3 {
		t.Errorf("%d status lines with counts, want at least 3", n)
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestBenchMode(t *testing.T) {
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"-bench", "3000"}, noEnv, &out, stderr()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !regexp.MustCompile(`3000 events in .*: \d+ events/s .* stored 3000, duplicates stored 0, lost 0, dropped 0 by the bridge and 0 by the client`).MatchString(out.String()) {
		t.Fatalf("bench output:\n%s", out.String())
	}
}

func TestFlagsAndTopics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "topics")
	os.WriteFile(path, []byte("# agents\nv2.users.1.presence\n\n  v2.routing.queues.2.conversations  # queue 2\n"), 0o600)
	o, err := parseFlags([]string{"-topics-file", path, "-nats", "nats://n1:4222", "v2.users.3.presence"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v2.users.3.presence", "v2.users.1.presence", "v2.routing.queues.2.conversations"}
	if strings.Join(o.topics, ",") != strings.Join(want, ",") || o.natsURL != "nats://n1:4222" {
		t.Fatalf("topics %q, nats %q", o.topics, o.natsURL)
	}
	env := map[string]string{"NATS_URL": "nats://env:4222", "GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s", "GENESYS_ENVIRONMENT": "mypurecloud.ie"}
	o, err = parseFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || o.natsURL != "nats://env:4222" || o.stream != "GENESYS" || o.replica == "" {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	// With credentials, topics are required.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := Main(ctx, nil, func(k string) string { return env[k] }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "topic") {
		t.Fatalf("Main without topics: %v", err)
	}
	if err := Main(ctx, []string{"-h"}, noEnv, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	if _, err := parseFlags([]string{"-topics-file", filepath.Join(dir, "missing")}, noEnv, io.Discard); err == nil {
		t.Fatal("a missing topics file was accepted")
	}
}
