package bridge_test

import (
	"context"
	"testing"
	"time"

	"github.com/gcnotify/notify/bridge/internal/testbed"
)

// BenchmarkThroughput measures events per second from a fake Genesys
// socket through one bridge into a file-backed stream of an embedded
// nats-server:
//
//	go test -run '^$' -bench Throughput -benchtime 100000x
func BenchmarkThroughput(b *testing.B) { bench(b, false) }

// BenchmarkBacklog measures how fast one bridge drains a backlog it
// buffered while NATS was down.
func BenchmarkBacklog(b *testing.B) { bench(b, true) }

func bench(b *testing.B, backlog bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := testbed.Bench(ctx, testbed.BenchConfig{Events: b.N, Backlog: backlog})
	if err != nil {
		b.Fatal(err)
	}
	if res.Duplicate != 0 || res.Lost != 0 {
		b.Fatalf("%v", res)
	}
	b.Logf("%v", res)
	b.ReportMetric(res.Rate(), "events/s")
	b.ReportMetric(0, "ns/op")
}
