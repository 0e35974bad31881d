// Command gcnotify-bridge publishes Genesys Cloud notifications to NATS
// JetStream, subject gc.<topic>, de-duplicated across replicas.
//
// With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT set
// it subscribes the topics named as arguments or in -topics-file:
//
//	gcnotify-bridge -nats nats://n1:4222,nats://n2:4222 -replica $(hostname) v2.users.{id}.presence
//
// Without them it runs a demo: two replicas in this process, each with its
// own fake Genesys server fed the same synthetic events, sockets dropped
// now and then, and an embedded nats-server when -nats and NATS_URL are
// empty:
//
//	go run ./cmd/gcnotify-bridge -for 20s
//
// SIGTERM or SIGINT stops reading Genesys, drains the buffer to JetStream
// within -drain-timeout and prints a summary. -bench N measures the
// throughput of one bridge. See -h for every flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gcnotify/notify/bridge/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal kills at once
	if err := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "gcnotify-bridge:", err)
		os.Exit(1)
	}
}
