package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// The example serves every instrument that saw a measurement on /metrics,
// under its Prometheus name, and a scrape over loopback reads them.
func TestMetricsAreScraped(t *testing.T) {
	const user = "8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f"
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: -1})
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, ln, srv.TokenSource(), []string{"v2.users." + user + ".presence"}, pw,
			notify.WithAPIBaseURL(srv.URL()), notify.WithBackoff(time.Millisecond, 10*time.Millisecond))
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		go io.Copy(io.Discard, pr)
		<-done
	})
	lines := bufio.NewScanner(pr)
	await := func(prefix string) {
		t.Helper()
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), prefix) {
				return
			}
		}
		t.Fatalf("no %q line: %v", prefix, lines.Err())
	}
	await("resynced")
	srv.SetPresence(user, "Busy")
	await("notification v2.users." + user + ".presence")
	srv.DropAll()
	await("connected")
	await("resynced")

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	for _, want := range []string{
		`messaging_client_consumed_messages_total{messaging_destination_template="v2.users.{id}.presence",messaging_system="genesys_cloud"`,
		"gcnotify_channels_connected{",
		`gcnotify_reconnects_total{gcnotify_gap="true"`,
		"gcnotify_gap_duration_seconds_bucket{",
		`gcnotify_rest_requests_total{http_request_method="PUT",http_response_status_code="200",`,
		"gcnotify_rest_duration_seconds_bucket{",
		"gcnotify_budget_wait_seconds_bucket{",
		"gcnotify_resync_duration_seconds_bucket{",
		"gcnotify_snapshots_total{",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
