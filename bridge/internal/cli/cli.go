// Package cli is what the commands gcnotify-bridge and
// gcnotify-bridge-demo share: the bridge's flags and environment, the
// signals they stop on, their log (log/slog records on stdout, text or
// JSON), and the loop that runs bridges with status records and a
// summary. It is also the production command gcnotify-bridge
// itself (Main). It links no test bed: no nats-server and no notifytest;
// the demo and the benchmark are in package demo.
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
)

// Options are the flags the two commands share; Register documents each.
type Options struct {
	NATSURL        string        // -nats, or NATS_URL
	Stream         string        // -stream
	Replica        string        // -replica
	TopicsFile     string        // -topics-file
	Buffer         int           // -buffer
	MaxInFlight    int           // -max-inflight
	StreamReplicas int           // -stream-replicas
	AckTimeout     time.Duration // -ack-timeout
	DrainTimeout   time.Duration // -drain-timeout
	Dedup          time.Duration // -dedup-window
	MaxAge         time.Duration // -max-age
	MaxBytes       int64         // -max-bytes
	MaxMsgs        int64         // -max-msgs
	StatusEvery    time.Duration // -status-every
	RunFor         time.Duration // -for
	Verbose        bool          // -v
	LogFormat      string        // -log-format
	Topics         []string      // the arguments, then the lines of TopicsFile
}

// Register defines the flags of o on fs; getenv reads the environment
// (NATS_URL).
func (o *Options) Register(fs *flag.FlagSet, getenv func(string) string) {
	host, _ := os.Hostname()
	if host == "" {
		host = "bridge"
	}
	fs.StringVar(&o.NATSURL, "nats", getenv("NATS_URL"), "NATS URL(s), comma-separated (env NATS_URL)")
	fs.StringVar(&o.Stream, "stream", bridge.DefaultStreamName, "JetStream stream name")
	fs.StringVar(&o.Replica, "replica", host, "name of this replica, in the subjects of its lifecycle records")
	fs.StringVar(&o.TopicsFile, "topics-file", "", "file of topics, one per line, # comments")
	fs.IntVar(&o.Buffer, "buffer", bridge.DefaultBufferSize, "notifications held while NATS is unreachable; more are dropped")
	fs.IntVar(&o.MaxInFlight, "max-inflight", bridge.DefaultMaxInFlight, "publishes waiting for their acknowledgement at once")
	fs.DurationVar(&o.AckTimeout, "ack-timeout", bridge.DefaultAckTimeout, "wait for a publish acknowledgement before sending again")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", bridge.DefaultDrainTimeout, "after SIGTERM, SIGINT, SIGHUP or -for: how long to keep publishing what is held before exiting")
	fs.DurationVar(&o.Dedup, "dedup-window", bridge.DefaultDuplicates, "stream duplicate window (at least 2m)")
	fs.DurationVar(&o.MaxAge, "max-age", 7*24*time.Hour, "stream MaxAge; 0 unlimited")
	fs.Int64Var(&o.MaxBytes, "max-bytes", 0, "stream MaxBytes; 0 unlimited")
	fs.Int64Var(&o.MaxMsgs, "max-msgs", 0, "stream MaxMsgs; 0 unlimited")
	fs.IntVar(&o.StreamReplicas, "stream-replicas", 1, "copies of the stream in a NATS cluster (1 to 5)")
	fs.DurationVar(&o.StatusEvery, "status-every", 2*time.Second, "how often to log the stream counts; 0 never")
	fs.DurationVar(&o.RunFor, "for", 0, "stop after this long, as on SIGTERM (default: until a signal)")
	fs.BoolVar(&o.Verbose, "v", false, "also log the notify client's records")
	fs.StringVar(&o.LogFormat, "log-format", "text", "the log's format, text or json (log/slog records on stdout)")
}

// Parse parses args with fs, whose flags include those of o, and collects
// the topics: the remaining arguments, then those of -topics-file.
func (o *Options) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Topics = fs.Args()
	if o.TopicsFile != "" {
		more, err := readTopicsFile(o.TopicsFile)
		if err != nil {
			return err
		}
		o.Topics = append(o.Topics, more...)
	}
	if o.DrainTimeout <= 0 {
		return fmt.Errorf("-drain-timeout must be positive, got %v", o.DrainTimeout)
	}
	if o.LogFormat != "text" && o.LogFormat != "json" {
		return fmt.Errorf("-log-format must be text or json, got %q", o.LogFormat)
	}
	return nil
}

// BridgeConfig returns the bridge configuration of the flags, without a
// client, a NATS URL or a replica name.
func (o *Options) BridgeConfig(log *slog.Logger) bridge.Config {
	return bridge.Config{
		Stream: bridge.StreamConfig{
			Name: o.Stream, Duplicates: o.Dedup, MaxAge: o.MaxAge,
			MaxBytes: o.MaxBytes, MaxMsgs: o.MaxMsgs, Replicas: o.StreamReplicas,
		},
		MaxInFlight:  o.MaxInFlight,
		BufferSize:   o.Buffer,
		AckTimeout:   o.AckTimeout,
		DrainTimeout: o.DrainTimeout,
		Logger:       log,
	}
}

// Setup returns the command's log, the records of -log-format on stdout,
// and ctx bounded by -for.
func (o *Options) Setup(ctx context.Context, stdout io.Writer) (context.Context, context.CancelFunc, *slog.Logger) {
	cancel := context.CancelFunc(func() {})
	if o.RunFor > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, o.RunFor, fmt.Errorf("-for %v elapsed", o.RunFor))
	}
	var h slog.Handler = slog.NewTextHandler(stdout, nil)
	if o.LogFormat == "json" {
		h = slog.NewJSONHandler(stdout, nil)
	}
	return ctx, cancel, slog.New(h)
}

const usageText = `Publishes Genesys Cloud notifications to NATS JetStream, subject gc.<topic>,
de-duplicated across replicas. It needs GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET
and GENESYS_ENVIRONMENT, a NATS URL (-nats or NATS_URL) and the topics, as
arguments or in -topics-file. SIGTERM, SIGINT or SIGHUP stops reading Genesys,
publishes what is held within -drain-timeout and exits; a second signal exits
at once. To try it without Genesys or NATS, run gcnotify-bridge-demo.`

// Main runs the command gcnotify-bridge: args are its arguments without
// the program name, getenv reads its environment, its log goes to stdout
// and its usage to stderr. It returns when ctx ends (after draining) or
// -for elapsed.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o Options
	fs := flag.NewFlagSet("gcnotify-bridge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gcnotify-bridge [flags] [topic ...]\n\n%s\n\nflags:\n", usageText)
		fs.PrintDefaults()
	}
	o.Register(fs, getenv)
	if err := o.Parse(fs, args); err != nil {
		return err
	}
	id, secret, env := getenv("GENESYS_CLIENT_ID"), getenv("GENESYS_CLIENT_SECRET"), getenv("GENESYS_ENVIRONMENT")
	switch {
	case id == "" || secret == "" || env == "":
		return errors.New("set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT (to try it without Genesys: go run ./cmd/gcnotify-bridge-demo)")
	case o.NATSURL == "":
		return errors.New("name the NATS server(s) with -nats or NATS_URL, such as nats://n1:4222,nats://n2:4222")
	case len(o.Topics) == 0:
		return errors.New("name at least one topic, such as v2.users.{id}.presence, or use -topics-file")
	}
	ctx, cancel, log := o.Setup(ctx, stdout)
	defer cancel()

	copts := []notify.Option{notify.WithEnvironment(env), notify.WithEventBuffer(16384)}
	if o.Verbose {
		copts = append(copts, notify.WithLogger(log.With("component", "notify")))
	}
	c, err := notify.New(notify.ClientCredentials(ctx, env, id, secret), copts...)
	if err != nil {
		return err
	}
	if err := c.Subscribe(ctx, o.Topics...); err != nil {
		c.Close()
		return err
	}
	cfg := o.BridgeConfig(log)
	cfg.Client, cfg.NATSURL, cfg.Replica = c, o.NATSURL, o.Replica
	log.Info("bridging Genesys Cloud to JetStream", "environment", env, "topics", len(o.Topics), "replica", o.Replica,
		"stream", o.Stream, "nats", bridge.RedactURLs(o.NATSURL))
	return Run(ctx, &o, []bridge.Config{cfg}, nil, log)
}
