package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func noEnv(string) string { return "" }

func parse(args []string, getenv func(string) string) (*Options, error) {
	var o Options
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.Register(fs, getenv)
	return &o, o.Parse(fs, args)
}

func TestFlagsAndTopics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "topics")
	if err := os.WriteFile(path, []byte("# agents\nv2.users.1.presence\n\n  v2.routing.queues.2.conversations  # queue 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parse([]string{"-topics-file", path, "-nats", "nats://n1:4222", "v2.users.3.presence"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v2.users.3.presence", "v2.users.1.presence", "v2.routing.queues.2.conversations"}
	if strings.Join(o.Topics, ",") != strings.Join(want, ",") || o.NATSURL != "nats://n1:4222" {
		t.Fatalf("topics %q, nats %q", o.Topics, o.NATSURL)
	}
	env := map[string]string{"NATS_URL": "nats://env:4222"}
	o, err = parse(nil, func(k string) string { return env[k] })
	if err != nil || o.NATSURL != "nats://env:4222" || o.Stream != "GENESYS" || o.Replica == "" {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	cfg := o.BridgeConfig(nil)
	if cfg.DrainTimeout != o.DrainTimeout || cfg.Stream.Name != "GENESYS" || cfg.BufferSize != 100_000 {
		t.Fatalf("bridge config %+v", cfg)
	}
	if _, err := parse([]string{"-topics-file", filepath.Join(dir, "missing")}, noEnv); err == nil {
		t.Fatal("a missing topics file was accepted")
	}
	if _, err := parse([]string{"-drain-timeout", "0s"}, noEnv); err == nil {
		t.Fatal("a drain timeout of 0 was accepted")
	}
}

// The production command says what it lacks before it starts anything: it
// has no demo and no embedded nats-server to fall back on.
func TestMainRefusesWhatItLacks(t *testing.T) {
	creds := map[string]string{"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s", "GENESYS_ENVIRONMENT": "mypurecloud.ie"}
	with := func(extra map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := extra[k]; ok {
				return v
			}
			return creds[k]
		}
	}
	for _, c := range []struct {
		name   string
		args   []string
		getenv func(string) string
		want   string
	}{
		{"no credentials", []string{"-nats", "nats://n1:4222", "v2.users.1.presence"}, noEnv, "gcnotify-bridge-demo"},
		{"no NATS", []string{"v2.users.1.presence"}, with(nil), "-nats or NATS_URL"},
		{"no topics", []string{"-nats", "nats://n1:4222"}, with(nil), "topic"},
	} {
		err := Main(context.Background(), c.args, c.getenv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
	if err := Main(context.Background(), []string{"-h"}, noEnv, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
}

func TestRedact(t *testing.T) {
	got := bridge.RedactURLs("nats://u:secret@n1:4222, nats://tok@n2:4222,nats://n3:4222")
	if strings.Contains(got, "secret") || strings.Contains(got, "tok") || !strings.Contains(got, "nats://n3:4222") {
		t.Fatalf("redact: %s", got)
	}
}

// After a NATS restart the monitor's connection comes back later than the
// bridges' may: the summary waits for it, but only until the deadline, so
// an unreachable NATS costs nothing once the drain has used the time.
func TestMonitorWaitsForItsConnection(t *testing.T) {
	n, err := testbed.StartNATS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	n.Stop()
	mon, err := newMonitor(n.URL(), "GENESYS", []nats.Option{nats.ReconnectWait(20 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	defer mon.close()
	if mon.waitConnected(time.Now()) {
		t.Fatal("connected to a stopped server")
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if !mon.waitConnected(time.Now().Add(time.Minute)) {
		t.Fatal("the monitor did not connect to the server started again")
	}
}
