package testbed

import (
	"context"
	"log/slog"
	"sync"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/bridge"
	"github.com/gcnotify/notify/notifytest"
)

// Replica is a bridge running against a fake server.
type Replica struct {
	*bridge.Bridge
	cancel  context.CancelFunc
	done    chan error
	release func()
	once    sync.Once
	err     error
}

// StartReplica starts a bridge with cfg and a new client of srv
// subscribed to topics; cfg.Client is replaced.
func StartReplica(srv *notifytest.Server, cfg bridge.Config, clientLog *slog.Logger, topics ...string) (*Replica, error) {
	c, release, err := NewClient(srv, clientLog, topics...)
	if err != nil {
		return nil, err
	}
	return StartBridge(c, release, cfg)
}

// StartBridge starts a bridge with cfg and the client c; cfg.Client is
// replaced. release is called once the bridge has stopped, as NewClient's
// is.
func StartBridge(c *notify.Client, release func(), cfg bridge.Config) (*Replica, error) {
	cfg.Client = c
	b, err := bridge.New(cfg)
	if err != nil {
		c.Close()
		release()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Replica{Bridge: b, cancel: cancel, done: make(chan error, 1), release: release}
	go func() { r.done <- b.Run(ctx) }()
	return r, nil
}

// Stop ends the bridge's Run, waits for it and returns its error. It is
// idempotent.
func (r *Replica) Stop() error {
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
		r.release()
	})
	return r.err
}
