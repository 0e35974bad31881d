// Package demo is the demo mode of the example programs: it makes a
// notifytest.Server look like a busy organization behind a flaky network,
// so that a client has to reconnect and report its gaps.
//
// Each example keeps its demo in a file of its own, demo.go, which sets a
// function variable of main.go in its init; main.go imports only notify
// and the standard library, so that a copy of it is a program that links
// neither this package nor notifytest.
package demo

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// A Demo is what a Server plays: Step publishes a change every Tick, and
// every DropEvery all the sockets are dropped and Away is called.
type Demo struct {
	// Tick is how often Step is called. Default (when zero) 250ms.
	Tick time.Duration

	// Step publishes the n-th change (n counts from 0), usually with
	// Server.Publish or its setters. It is called on the demo's goroutine,
	// one call at a time. Nil: nothing is published.
	Step func(n int)

	// DropEvery is how often every open socket is dropped abruptly, as
	// Server.DropAll does. Zero: never.
	DropEvery time.Duration

	// Away changes the state right after a drop, while no socket is open,
	// so that a client learns of it only by reading the state again. It
	// is called on the demo's goroutine, as Step is. Nil: nothing.
	Away func()
}

// NewServer says on stderr that the program runs in demo mode and returns
// a Server to run a Demo on.
func NewServer() *notifytest.Server {
	fmt.Fprintln(os.Stderr, "demo mode: no credentials, using the embedded fake server")
	return notifytest.NewServer(notifytest.Config{})
}

// Client returns a client of srv that reconnects within 200ms to 2s,
// with opts.
func Client(srv *notifytest.Server, opts ...notify.Option) (*notify.Client, error) {
	opts = append([]notify.Option{notify.WithAPIBaseURL(srv.URL()), notify.WithBackoff(200*time.Millisecond, 2*time.Second)}, opts...)
	return notify.New(srv.TokenSource(), opts...)
}

// Start runs d on srv until ctx ends or stop is called. stop waits for the
// last Step to return, then closes srv; call it once the client of srv is
// closed. A negative duration in d is taken as zero.
func Start(ctx context.Context, srv *notifytest.Server, d Demo) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, srv, d)
	}()
	return func() {
		cancel()
		<-done
		srv.Close()
	}
}

// run runs d on srv until ctx ends.
func run(ctx context.Context, srv *notifytest.Server, d Demo) {
	if d.Tick <= 0 {
		d.Tick = 250 * time.Millisecond
	}
	tick := time.NewTicker(d.Tick)
	defer tick.Stop()
	var drop <-chan time.Time // nil: never
	if d.DropEvery > 0 {
		t := time.NewTicker(d.DropEvery)
		defer t.Stop()
		drop = t.C
	}
	for n := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-drop:
			srv.DropAll()
			if d.Away != nil {
				d.Away()
			}
		case <-tick.C:
			if d.Step != nil {
				d.Step(n)
			}
			n++
		}
	}
}

// DropEvery defines the flag -drop-every on the command line: how often
// the demo drops the connection, 3s by default, 0 never. A negative value
// is refused, as flag refuses a malformed one.
func DropEvery() *time.Duration {
	d := 3 * time.Second
	flag.Var((*dropEvery)(&d), "drop-every", "demo mode: drop the connection every `duration`; 0 never")
	return &d
}

type dropEvery time.Duration

func (d *dropEvery) String() string { return time.Duration(*d).String() }

func (d *dropEvery) Set(s string) error {
	v, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return err
	case v < 0:
		return fmt.Errorf("%v is negative; 0 never drops", v)
	}
	*d = dropEvery(v)
	return nil
}
