// Command gcnotify-bridge-demo runs the Genesys-to-JetStream bridge of
// gcnotify-bridge on one machine, without Genesys credentials and without
// a NATS server of your own: two replicas in this process, each with a
// fake Genesys server of its own fed the same synthetic events, one socket
// dropped every few seconds (never both), and an embedded nats-server with
// JetStream in a temporary directory unless -nats names a server:
//
//	go run ./cmd/gcnotify-bridge-demo -for 20s
//	go run ./cmd/gcnotify-bridge-demo -bench 200000   # events/s through one bridge
//
// At the end, after -for or at SIGTERM, SIGINT or SIGHUP, it drains,
// logs a summary per replica and checks what the stream holds. The
// temporary store is removed on every exit, a second signal's included.
package main

import (
	"os"

	"github.com/gcnotify/notify/bridge/internal/cli"
	"github.com/gcnotify/notify/bridge/internal/demo"
)

func main() {
	ctx, stop := cli.NotifyContext("gcnotify-bridge-demo", os.Stderr, demo.Abort)
	err := demo.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	cli.Exit("gcnotify-bridge-demo", os.Stderr, err)
}
