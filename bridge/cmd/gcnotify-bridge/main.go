// Command gcnotify-bridge publishes Genesys Cloud notifications to NATS
// JetStream, subject gc.<topic>, de-duplicated across replicas.
//
// It needs GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and
// GENESYS_ENVIRONMENT, a NATS URL (-nats or NATS_URL) and the topics, as
// arguments or in -topics-file:
//
//	gcnotify-bridge -nats nats://n1:4222,nats://n2:4222 -replica $(hostname) v2.users.{id}.presence
//
// SIGTERM, SIGINT or SIGHUP stops reading Genesys, publishes what is held
// within -drain-timeout, logs a summary and exits; a second signal exits
// at once. See -h for every flag.
//
// This binary links no test bed. To try the bridge without Genesys
// credentials or a NATS server, run the demo, gcnotify-bridge-demo.
package main

import (
	"os"

	"github.com/gcnotify/notify/bridge/internal/cli"
)

func main() {
	ctx, stop := cli.NotifyContext("gcnotify-bridge", os.Stderr, nil)
	err := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	cli.Exit("gcnotify-bridge", os.Stderr, err)
}
