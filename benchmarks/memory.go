package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
)

// idleCost is what one connected, idle client costs.
type idleCost struct {
	goroutines, heap, heapStack float64
}

// memory connects n clients of each protocol, each subscribed to one
// topic, to the notifytest child and measures the growth of goroutines,
// heap and stacks per client.
func memory(t *table, apiURL, tokenFrameURL string, n int) error {
	var costs [2]idleCost
	for p := range costs {
		var err error
		costs[p], err = idleClients(p, apiURL, tokenFrameURL, n)
		if err != nil {
			return fmt.Errorf("memory %s: %w", protocolNames[p], err)
		}
	}
	t.add(fmt.Sprintf("idle client: goroutines, with the one running Run (mean of %d)", n),
		fmt.Sprintf("%.2f", costs[0].goroutines), fmt.Sprintf("%.2f", costs[1].goroutines))
	t.add("idle client: heap (HeapInuse)", kib(costs[0].heap), kib(costs[1].heap))
	t.add("idle client: heap + stacks (HeapInuse + StackInuse)", kib(costs[0].heapStack), kib(costs[1].heapStack))
	t.note("Idle clients: default options, one topic each, connected to a notifytest server in another process; " +
		"growth after GC, with the shared http.Client's idle REST connections closed.")
	return nil
}

func idleClients(p int, apiURL, tokenFrameURL string, n int) (idleCost, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// One HTTP client for all, able to keep a connection per client: the
	// idle REST connections it pools are closed before measuring, as they
	// belong to the http.Client, not to the notify clients.
	tr := &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}

	g0, heap0, stack0 := snapshot()
	var (
		clients []*notify.Client
		runs    sync.WaitGroup
	)
	defer func() {
		var closing sync.WaitGroup
		for _, c := range clients {
			closing.Go(func() { c.Close() })
		}
		closing.Wait()
		runs.Wait()
	}()
	for i := range n {
		opt, topic := notify.WithAPIBaseURL(apiURL), fmt.Sprintf("v2.users.00000000-0000-4000-8000-%012d.presence", i)
		if p == 1 {
			opt, topic = notify.WithTokenFrameEndpoint(tokenFrameURL), fmt.Sprintf("/users/%d/presence", i)
		}
		// A token per client, each an app of its own on the server.
		ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: fmt.Sprintf("idle-%d-%d", p, i)})
		c, err := notify.New(ts, opt, notify.WithHTTPClient(hc))
		if err != nil {
			return idleCost{}, err
		}
		if err := c.Subscribe(ctx, topic); err != nil {
			return idleCost{}, err
		}
		clients = append(clients, c)
		runs.Go(func() { c.Run(ctx) })
	}
	if err := awaitConnected(ctx, clients); err != nil {
		return idleCost{}, err
	}
	gPool, heapPool, stackPool := snapshot()
	tr.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond) // the pooled connections' goroutines exit
	g1, heap1, stack1 := snapshot()
	per := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(n) }
	progress("memory %-11s with the idle REST pool: %.2f goroutines, %s heap+stacks per client",
		protocolNames[p], float64(gPool-g0)/float64(n), kib(per(heapPool+stackPool, heap0+stack0)))
	cost := idleCost{
		goroutines: float64(g1-g0) / float64(n),
		heap:       per(heap1, heap0),
		heapStack:  per(heap1+stack1, heap0+stack0),
	}
	progress("memory %-11s %.2f goroutines, %s heap, %s heap+stacks per client",
		protocolNames[p], cost.goroutines, kib(cost.heap), kib(cost.heapStack))
	return cost, nil
}

// awaitConnected polls the clients' events, without a goroutine per
// client, until each has delivered Connected.
func awaitConnected(ctx context.Context, clients []*notify.Client) error {
	pending := slices.Clone(clients)
	for len(pending) > 0 {
		var err error
		pending = slices.DeleteFunc(pending, func(c *notify.Client) bool {
			for {
				select {
				case ev, ok := <-c.Events():
					switch ev.(type) {
					case notify.Connected:
						return true
					case notify.Rejected:
						err = errors.New("topic rejected")
					}
					if !ok {
						err = fmt.Errorf("client stopped: %v", c.Stats().LastError)
						return true
					}
				default:
					return false
				}
			}
		})
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d clients not connected: %w", len(pending), ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// snapshot collects garbage and returns the goroutine count and the bytes
// of heap spans and stacks in use.
func snapshot() (goroutines int, heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse, ms.StackInuse
}

func kib(b float64) string {
	return fmt.Sprintf("%.1f KiB", b/1024)
}
