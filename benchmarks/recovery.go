package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// recovery drops the connection of a client subscribed to one topic drops
// times, for each protocol, against an in-process notifytest server.
// After each drop the first Connected makes it publish one event; the time
// from just before the drop to that event's arrival is the recovery time.
func recovery(t *table, drops int) error {
	var cells [2]string
	for p := range cells {
		srv := notifytest.NewServer(notifytest.Config{})
		opt, topic := notify.WithAPIBaseURL(srv.URL()), "v2.users.5f3b7c1a-2d4e-4f60-8a9b-0c1d2e3f4a5b.presence"
		if p == 1 {
			opt, topic = notify.WithTokenFrameEndpoint(srv.TokenFrameURL()), "/users/5f3b7c1a/presence"
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		times, err := measureRecovery(ctx, srv, topic, drops, opt)
		cancel()
		srv.Close()
		if err != nil {
			return fmt.Errorf("recovery %s: %w", protocolNames[p], err)
		}
		slices.Sort(times)
		cells[p] = fmt.Sprintf("%s / %s / %s", ms(percentile(times, 50)), ms(percentile(times, 99)), ms(times[len(times)-1]))
		progress("recovery %-11s p50/p99/max %s", protocolNames[p], cells[p])
	}
	t.add(fmt.Sprintf("recovery after DropAll: p50 / p99 / max of %d", drops), cells[0], cells[1])
	t.note("Recovery: in-process notifytest server, WithBackoff(0, time.Second); from just before DropAll to the arrival of an event " +
		"published when the client's Connected arrived.")
	return nil
}

func measureRecovery(ctx context.Context, srv *notifytest.Server, topic string, drops int, opt notify.Option) ([]time.Duration, error) {
	c, err := notify.New(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "recovery"}),
		opt, notify.WithBackoff(0, time.Second))
	if err != nil {
		return nil, err
	}
	if err := c.Subscribe(ctx, topic); err != nil {
		return nil, err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	defer func() { c.Close(); <-runErr }()

	// nextNotification publishes an event after each Connected and
	// returns when a notification arrives.
	nextNotification := func() error {
		for ev := range c.Events() {
			switch ev.(type) {
			case notify.Connected:
				srv.Publish(topic, []byte(conversationBody))
			case notify.Notification:
				return nil
			}
		}
		return errors.New("events closed")
	}
	if err := nextNotification(); err != nil { // the first connection
		return nil, err
	}
	var times []time.Duration
	for range drops {
		start := time.Now()
		srv.DropAll()
		if err := nextNotification(); err != nil {
			return nil, err
		}
		times = append(times, time.Since(start))
	}
	return times, nil
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i, 1)-1]
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}
