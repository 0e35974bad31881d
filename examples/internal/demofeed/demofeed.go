// Package demofeed runs the examples' embedded fake server like a flaky
// network: it publishes on a ticker and drops every socket now and then.
package demofeed

import (
	"context"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// Client returns a client of srv with timings that show recovery quickly.
func Client(srv *notifytest.Server) (*notify.Client, error) {
	return notify.New(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "demo"}),
		notify.WithAPIBaseURL(srv.URL()),
		notify.WithBackoff(200*time.Millisecond, 2*time.Second),
		notify.WithHeartbeatTimeout(3*time.Second))
}

// Feed calls step with a counter every tick and drops every socket of srv
// every dropEvery, until ctx ends or stop is called; then it closes srv.
// stop returns once srv is closed.
func Feed(ctx context.Context, srv *notifytest.Server, tick, dropEvery time.Duration, step func(i int)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer srv.Close()
		t := time.NewTicker(tick)
		defer t.Stop()
		drop := time.NewTicker(dropEvery)
		defer drop.Stop()
		for i := 0; ; {
			select {
			case <-ctx.Done():
				return
			case <-drop.C:
				srv.DropAll()
			case <-t.C:
				step(i)
				i++
			}
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}
