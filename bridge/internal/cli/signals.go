package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Signals are the signals the commands stop on.
var Signals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM}

// NotifyContext returns a context that ends at the first of Signals, after
// a line on stderr, so that the command stops reading Genesys, drains and
// exits. At a second signal it calls abort, which must remove what may not
// be left behind (a temporary store) and return promptly, and exits at
// once with status 128 + the signal's number. stop stops the handling.
func NotifyContext(name string, stderr io.Writer, abort func()) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, Signals...)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(stderr, "%s: %v: stopping; a second signal stops at once\n", name, sig)
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			fmt.Fprintf(stderr, "%s: %v again: stopping at once\n", name, sig)
			if abort != nil {
				abort()
			}
			code := 1
			if s, ok := sig.(syscall.Signal); ok {
				code = 128 + int(s)
			}
			os.Exit(code)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}
