// Package otelnotify records the metrics of a notify.Client with
// OpenTelemetry: give the Trace that NewTrace returns to notify.WithTrace.
//
//	tr, err := otelnotify.NewTrace(otelnotify.WithMeterProvider(mp))
//	if err != nil { … }
//	c, err := notify.New(ts, notify.WithTrace(tr))
//
// The instruments, whose names dashboards and alerts can rely on:
//
//	messaging.client.consumed.messages  counter    notifications put on Events(), by topic template
//	gcnotify.events.dropped             counter    notifications dropped for a consumer behind, by topic template
//	gcnotify.channels.connected         gauge      channels with a connection up (an UpDownCounter)
//	gcnotify.reconnects                 counter    reconnects, by gcnotify.gap (false for a handover)
//	gcnotify.gap.duration               histogram  seconds without a connection, per gap
//	gcnotify.rest.requests              counter    REST requests, by method, route and status
//	gcnotify.rest.duration              histogram  seconds per REST request, by method, route and status
//	gcnotify.budget.wait                histogram  seconds a REST request waited for the request budget
//	gcnotify.resync.duration            histogram  seconds per state read after a gap (WithSnapshots)
//	gcnotify.snapshots                  counter    topics read after gaps: Snapshot events
//
// Topics are recorded by template (messaging.destination.template, such
// as "v2.users.{id}.presence"), never raw, so that a series stands for a
// kind of topic rather than a user or a queue. The REST attributes are
// http.request.method, url.template (such as
// "/api/v2/notifications/channels/{id}/subscriptions") and
// http.response.status_code, absent when no answer came (error.type is
// then "_OTHER").
package otelnotify

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/gcnotify/notify"
)

// scope names the instrumentation scope of the meter.
const scope = "github.com/gcnotify/notify/otelnotify"

// An Option configures NewTrace.
type Option func(*config)

type config struct {
	mp metric.MeterProvider
}

// WithMeterProvider makes the trace record through mp. Default: the
// global provider, otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// Boundaries of the histograms, in seconds.
var (
	requestBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	waitBuckets    = []float64{0, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	gapBuckets     = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600}
)

// maxTopics bounds the topics whose attributes are kept ready: beyond it
// they are built for each event.
const maxTopics = 10000

// instruments are the instruments of one trace.
type instruments struct {
	consumed, dropped   metric.Int64Counter
	connected           metric.Int64UpDownCounter
	reconnects          metric.Int64Counter
	gap                 metric.Float64Histogram
	requests            metric.Int64Counter
	requestDuration     metric.Float64Histogram
	budgetWait          metric.Float64Histogram
	resync              metric.Float64Histogram
	snapshots           metric.Int64Counter
	withGap, withoutGap []metric.AddOption
	topics              sync.Map // topic -> []metric.AddOption of its template
	cached              atomic.Int64
}

// NewTrace returns a Trace that records a client's metrics with the
// instruments listed in the package documentation. One trace may serve
// several clients: their metrics add up. It fails if an instrument
// cannot be made.
func NewTrace(opts ...Option) (*notify.Trace, error) {
	cfg := config{mp: otel.GetMeterProvider()}
	for _, o := range opts {
		o(&cfg)
	}
	in, err := newInstruments(cfg.mp.Meter(scope))
	if err != nil {
		return nil, err
	}
	return &notify.Trace{
		Channel:    in.channel,
		Connected:  in.connectedTo,
		Delivered:  in.delivered,
		Dropped:    in.droppedOne,
		Request:    in.request,
		BudgetWait: in.waited,
		Resynced:   in.resynced,
	}, nil
}

func newInstruments(m metric.Meter) (*instruments, error) {
	var errs [10]error
	in := &instruments{
		withGap:    []metric.AddOption{metric.WithAttributes(attribute.Bool("gcnotify.gap", true))},
		withoutGap: []metric.AddOption{metric.WithAttributes(attribute.Bool("gcnotify.gap", false))},
	}
	in.consumed, errs[0] = m.Int64Counter("messaging.client.consumed.messages", metric.WithUnit("{message}"),
		metric.WithDescription("Notifications put on Events(), by topic template."))
	in.dropped, errs[1] = m.Int64Counter("gcnotify.events.dropped", metric.WithUnit("{message}"),
		metric.WithDescription("Notifications dropped because the consumer fell behind, by topic template."))
	in.connected, errs[2] = m.Int64UpDownCounter("gcnotify.channels.connected", metric.WithUnit("{channel}"),
		metric.WithDescription("Notification channels with a connection up."))
	in.reconnects, errs[3] = m.Int64Counter("gcnotify.reconnects", metric.WithUnit("{reconnect}"),
		metric.WithDescription("Reconnects: with a gap in the stream (gcnotify.gap) or a handover without one."))
	in.gap, errs[4] = m.Float64Histogram("gcnotify.gap.duration", metric.WithUnit("s"),
		metric.WithDescription("How long a channel had no connection, per gap."), metric.WithExplicitBucketBoundaries(gapBuckets...))
	in.requests, errs[5] = m.Int64Counter("gcnotify.rest.requests", metric.WithUnit("{request}"),
		metric.WithDescription("REST requests, by method, route template and status."))
	in.requestDuration, errs[6] = m.Float64Histogram("gcnotify.rest.duration", metric.WithUnit("s"),
		metric.WithDescription("How long REST requests took."), metric.WithExplicitBucketBoundaries(requestBuckets...))
	in.budgetWait, errs[7] = m.Float64Histogram("gcnotify.budget.wait", metric.WithUnit("s"),
		metric.WithDescription("How long REST requests waited for the request budget."), metric.WithExplicitBucketBoundaries(waitBuckets...))
	in.resync, errs[8] = m.Float64Histogram("gcnotify.resync.duration", metric.WithUnit("s"),
		metric.WithDescription("How long the state reads after a gap took."), metric.WithExplicitBucketBoundaries(gapBuckets...))
	in.snapshots, errs[9] = m.Int64Counter("gcnotify.snapshots", metric.WithUnit("{snapshot}"),
		metric.WithDescription("Topics whose state was read after a gap: Snapshot events."))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	return in, nil
}

func (in *instruments) channel(i notify.ChannelInfo) {
	if i.Up {
		in.connected.Add(context.Background(), 1)
	} else {
		in.connected.Add(context.Background(), -1)
	}
}

func (in *instruments) connectedTo(i notify.ConnectedInfo) {
	switch {
	case i.Gap:
		in.reconnects.Add(context.Background(), 1, in.withGap...)
		in.gap.Record(context.Background(), i.Downtime.Seconds())
	case i.Reconnect:
		in.reconnects.Add(context.Background(), 1, in.withoutGap...)
	}
}

func (in *instruments) delivered(i notify.DeliveredInfo) {
	in.consumed.Add(context.Background(), 1, in.topic(i.Topic)...)
}

func (in *instruments) droppedOne(i notify.DroppedInfo) {
	in.dropped.Add(context.Background(), 1, in.topic(i.Topic)...)
}

// topic returns the attributes of topic's template, kept ready for the
// first maxTopics topics.
func (in *instruments) topic(topic string) []metric.AddOption {
	if opts, ok := in.topics.Load(topic); ok {
		return opts.([]metric.AddOption)
	}
	opts := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		attribute.String("messaging.system", "genesys_cloud"),
		attribute.String("messaging.destination.template", notify.TopicTemplate(topic)),
	))}
	if in.cached.Load() < maxTopics {
		if _, loaded := in.topics.LoadOrStore(topic, opts); !loaded {
			in.cached.Add(1)
		}
	}
	return opts
}

func (in *instruments) request(i notify.RequestInfo) {
	method, route, _ := strings.Cut(i.Route, " ")
	attrs := []attribute.KeyValue{attribute.String("http.request.method", method), attribute.String("url.template", route)}
	if i.Status != 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", i.Status))
	} else {
		attrs = append(attrs, attribute.String("error.type", "_OTHER"))
	}
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))
	in.requests.Add(context.Background(), 1, set)
	in.requestDuration.Record(context.Background(), i.Duration.Seconds(), set)
}

func (in *instruments) waited(i notify.BudgetWaitInfo) {
	in.budgetWait.Record(context.Background(), i.Wait.Seconds())
}

func (in *instruments) resynced(i notify.ResyncedInfo) {
	in.resync.Record(context.Background(), i.Duration.Seconds())
	in.snapshots.Add(context.Background(), int64(i.Snapshots))
}
