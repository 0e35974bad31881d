// Command metrics keeps a Genesys Cloud notification stream alive and
// serves its client's OpenTelemetry metrics (package otelnotify) on
// /metrics for Prometheus to scrape, through the OpenTelemetry Prometheus
// exporter. It prints one line per event.
//
//	GENESYS_CLIENT_ID=… GENESYS_CLIENT_SECRET=… GENESYS_ENVIRONMENT=mypurecloud.ie \
//		go run ./examples/metrics -addr localhost:9464 v2.users.{id}.presence
//
// then curl http://localhost:9464/metrics. metrics -h tells more.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/otelnotify"
)

const usage = `usage: metrics [-addr host:port] topic ...

metrics subscribes to the topics, prints one line per event, and serves the
client's metrics on http://ADDR/metrics in the Prometheus text format.
With notify.WithSnapshots, it reads the state of presence, routing status
and queue observation topics again after every gap.

Environment (all three are needed):
  GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET  an OAuth client with the client
                                            credentials grant
  GENESYS_ENVIRONMENT                       its region, such as mypurecloud.ie

Flags:
`

func main() {
	addr := flag.String("addr", "localhost:9464", "where to serve /metrics")
	flag.Usage = func() { fmt.Fprint(flag.CommandLine.Output(), usage); flag.PrintDefaults() }
	flag.Parse()
	id, secret, env := os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET"), os.Getenv("GENESYS_ENVIRONMENT")
	if id == "" || secret == "" || env == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("metrics on http://%s/metrics", ln.Addr())
	err = run(ctx, ln, notify.ClientCredentials(ctx, env, id, secret), flag.Args(), os.Stdout)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}
}

// run serves the metrics on ln and a client of ts, subscribed to topics,
// until ctx ends or the client stops; it prints each event to out.
func run(ctx context.Context, ln net.Listener, ts oauth2.TokenSource, topics []string, out io.Writer, opts ...notify.Option) error {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())
	tr, err := otelnotify.NewTrace(otelnotify.WithMeterProvider(mp))
	if err != nil {
		return err
	}
	c, err := notify.New(ts, append(opts, notify.WithTrace(tr), notify.WithSnapshots())...)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(ctx, topics...); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	for ev := range c.Events() { // closed when Run returns
		fmt.Fprintln(out, line(ev))
	}
	return <-runErr
}

// line describes ev in one short line.
func line(ev notify.Event) string {
	switch ev := ev.(type) {
	case notify.Notification:
		return "notification " + ev.Topic
	case notify.Snapshot:
		return "snapshot " + ev.Topic
	case notify.Connected:
		return fmt.Sprintf("connected %s reconnect=%t gap=%t downtime=%v", ev.ChannelID, ev.Reconnect, ev.Gap, ev.Downtime)
	case notify.Disconnected:
		return fmt.Sprintf("disconnected %s: %v; retrying in %v", ev.ChannelID, ev.Err, ev.RetryIn)
	case notify.Resynced:
		return fmt.Sprintf("resynced %d topics, skipped %s", len(ev.Topics), strings.Join(ev.Skipped, " "))
	case notify.Dropped:
		return fmt.Sprintf("dropped %d notifications", ev.Count)
	case notify.Rejected:
		return fmt.Sprintf("rejected %s: %s", ev.Topic, ev.Reason)
	}
	return fmt.Sprintf("%T", ev)
}
