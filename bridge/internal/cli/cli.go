// Package cli is the command gcnotify-bridge: flags and environment,
// the embedded servers of the demo, status lines and the summary.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/bridge/internal/testbed"
)

// options are the command's flags.
type options struct {
	natsURL, stream, replica, topicsFile string
	buffer, maxInFlight, streamReplicas  int
	ackTimeout, drainTimeout, dedup      time.Duration
	maxAge                               time.Duration
	maxBytes, maxMsgs                    int64
	statusEvery, runFor                  time.Duration
	bench                                int
	backlog, verbose                     bool
	demoReplicas, demoRate               int
	dropEvery, natsRestartEvery          time.Duration
	topics                               []string
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	o := &options{}
	host, _ := os.Hostname()
	if host == "" {
		host = "bridge"
	}
	fs := flag.NewFlagSet("gcnotify-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gcnotify-bridge [flags] [topic ...]\n\n%s\nflags:\n", usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.natsURL, "nats", getenv("NATS_URL"), "NATS URL(s), comma-separated (env NATS_URL); empty: an embedded nats-server")
	fs.StringVar(&o.stream, "stream", bridge.DefaultStreamName, "JetStream stream name")
	fs.StringVar(&o.replica, "replica", host, "name of this replica, in the subjects of its lifecycle records")
	fs.StringVar(&o.topicsFile, "topics-file", "", "file of topics, one per line, # comments")
	fs.IntVar(&o.buffer, "buffer", bridge.DefaultBufferSize, "notifications held while NATS is unreachable; more are dropped")
	fs.IntVar(&o.maxInFlight, "max-inflight", bridge.DefaultMaxInFlight, "publishes waiting for their acknowledgement at once")
	fs.DurationVar(&o.ackTimeout, "ack-timeout", bridge.DefaultAckTimeout, "wait for a publish acknowledgement before sending again")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", bridge.DefaultDrainTimeout, "on SIGTERM/SIGINT, how long to keep publishing the buffer")
	fs.DurationVar(&o.dedup, "dedup-window", bridge.DefaultDuplicates, "stream duplicate window (at least 2m)")
	fs.DurationVar(&o.maxAge, "max-age", 7*24*time.Hour, "stream MaxAge; 0 unlimited")
	fs.Int64Var(&o.maxBytes, "max-bytes", 0, "stream MaxBytes; 0 unlimited")
	fs.Int64Var(&o.maxMsgs, "max-msgs", 0, "stream MaxMsgs; 0 unlimited")
	fs.IntVar(&o.streamReplicas, "stream-replicas", 1, "copies of the stream in a NATS cluster (1 to 5)")
	fs.DurationVar(&o.statusEvery, "status-every", 2*time.Second, "how often to print the stream counts; 0 never")
	fs.DurationVar(&o.runFor, "for", 0, "stop after this long (default: until SIGTERM/SIGINT)")
	fs.IntVar(&o.bench, "bench", 0, "measure: push this many events through one bridge into an embedded file-backed stream, and exit")
	fs.BoolVar(&o.backlog, "bench-backlog", false, "with -bench: measure the drain of a backlog buffered while NATS was down")
	fs.BoolVar(&o.verbose, "v", false, "also log the notify client's records")
	fs.IntVar(&o.demoReplicas, "demo-replicas", 2, "demo (no Genesys credentials): replicas in this process, each with its own fake Genesys server")
	fs.IntVar(&o.demoRate, "demo-rate", 500, "demo: synthetic events per second")
	fs.DurationVar(&o.dropEvery, "drop-every", 3*time.Second, "demo: drop one replica's Genesys socket this often (never two at once); 0 never")
	fs.DurationVar(&o.natsRestartEvery, "nats-restart-every", 0, "demo with the embedded nats-server: stop it for a second this often, to watch the bridges buffer; 0 never")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.topics = fs.Args()
	if o.topicsFile != "" {
		more, err := readTopicsFile(o.topicsFile)
		if err != nil {
			return nil, err
		}
		o.topics = append(o.topics, more...)
	}
	return o, nil
}

const usageText = `Publishes Genesys Cloud notifications to NATS JetStream, subject gc.<topic>,
de-duplicated across replicas. With GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and
GENESYS_ENVIRONMENT set it subscribes the topics named as arguments or in
-topics-file; without them it runs a demo against fake Genesys servers. Without
-nats (or NATS_URL) it starts an embedded nats-server.`

// bridgeConfig returns the bridge configuration of the flags, without a
// client, a NATS URL or a replica name.
func (o *options) bridgeConfig(log *slog.Logger) bridge.Config {
	return bridge.Config{
		Stream: bridge.StreamConfig{
			Name: o.stream, Duplicates: o.dedup, MaxAge: o.maxAge,
			MaxBytes: o.maxBytes, MaxMsgs: o.maxMsgs, Replicas: o.streamReplicas,
		},
		MaxInFlight:  o.maxInFlight,
		BufferSize:   o.buffer,
		AckTimeout:   o.ackTimeout,
		DrainTimeout: o.drainTimeout,
		Logger:       log,
	}
}

// Main runs the command: args are its arguments without the program
// name, getenv reads its environment, status lines go to stdout and logs
// to stderr. It returns when ctx ends (after draining) or -for elapsed.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	stdout, stderr = &syncWriter{w: stdout}, &syncWriter{w: stderr}
	o, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if o.runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.runFor)
		defer cancel()
	}
	if o.bench > 0 {
		return runBench(ctx, o, stdout, log)
	}

	id, secret, env := getenv("GENESYS_CLIENT_ID"), getenv("GENESYS_CLIENT_SECRET"), getenv("GENESYS_ENVIRONMENT")
	demo := id == "" || secret == "" || env == ""
	if !demo && len(o.topics) == 0 {
		return errors.New("gcnotify-bridge: name at least one topic, such as v2.users.{id}.presence, or use -topics-file")
	}

	natsURL := o.natsURL
	var embedded *testbed.NATS
	if natsURL == "" {
		dir, err := os.MkdirTemp("", "gcnotify-nats-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		n, err := testbed.StartNATS(dir)
		if err != nil {
			return err
		}
		defer n.Stop()
		natsURL, embedded = n.URL(), n
		fmt.Fprintf(stdout, "nats: embedded nats-server at %s, JetStream store %s (removed at exit)\n", natsURL, dir)
	}

	if demo {
		return runDemo(ctx, o, embedded, natsURL, stdout, log)
	}
	copts := []notify.Option{notify.WithEnvironment(env), notify.WithEventBuffer(16384)}
	if o.verbose {
		copts = append(copts, notify.WithLogger(log.With("component", "notify")))
	}
	c, err := notify.New(notify.ClientCredentials(ctx, env, id, secret), copts...)
	if err != nil {
		return err
	}
	if err := c.Subscribe(ctx, o.topics...); err != nil {
		c.Close()
		return err
	}
	cfg := o.bridgeConfig(log)
	cfg.Client, cfg.NATSURL, cfg.Replica = c, natsURL, o.replica
	fmt.Fprintf(stdout, "genesys: %s, %d topics; replica %s; stream %s on %s\n", env, len(o.topics), o.replica, o.stream, natsURL)
	return runBridges(ctx, o, natsURL, []bridge.Config{cfg}, nil, stdout)
}

// runBench runs the -bench mode.
func runBench(ctx context.Context, o *options, stdout io.Writer, log *slog.Logger) error {
	cfg := o.bridgeConfig(log)
	mode := "live flow"
	if o.backlog {
		mode = "backlog drain"
	}
	fmt.Fprintf(stdout, "bench: %d events, %s, one bridge, embedded nats-server with file storage\n", o.bench, mode)
	res, err := testbed.Bench(ctx, testbed.BenchConfig{Events: o.bench, Bridge: cfg, Backlog: o.backlog, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bench: %v\n", res)
	if res.Duplicate != 0 || res.Lost != 0 {
		return fmt.Errorf("gcnotify-bridge: bench stored %d duplicates and lost %d events", res.Duplicate, res.Lost)
	}
	return nil
}
