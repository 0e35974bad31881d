package otelnotify_test

import (
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/otelnotify"
)

// BenchmarkDeliveredHook measures what the OpenTelemetry trace adds to
// the hot path per notification: its Delivered hook, which counts the
// notification under its topic's template. The path without it is the
// root module's BenchmarkDeliver.
func BenchmarkDeliveredHook(b *testing.B) {
	tr, err := otelnotify.NewTrace(otelnotify.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))))
	if err != nil {
		b.Fatal(err)
	}
	info := notify.DeliveredInfo{Topic: "v2.routing.queues.fd17c7b3-2b4e-4c6f-9a1d-3e5f7a9b1c2d.conversations"}
	b.ReportAllocs()
	for b.Loop() {
		tr.Delivered(info)
	}
}
