package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
)

// Signals are the signals the commands stop on.
var Signals = []os.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM}

// NotifyContext returns a context that ends at the first of Signals, with
// the signal as its cause (which Run logs), so that the command stops
// reading Genesys, drains and exits. At a second signal it says so on
// stderr, calls abort, which must remove what may not be left behind (a
// temporary store) and return promptly, and exits at once with status 128
// + the signal's number.
//
// Call stop when the command is done, before it exits: from then on the
// signals have their default effect again. A stop that comes while abort
// runs waits for the exit, so the command never exits before abort is
// done.
func NotifyContext(name string, stderr io.Writer, abort func()) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, Signals...)
	var mu sync.Mutex // held by stop, and by the abort until the exit
	stopped := false
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			cancel(fmt.Errorf("%v; a second signal stops at once", sig))
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			mu.Lock()
			if stopped {
				mu.Unlock()
				return
			}
			fmt.Fprintf(stderr, "%s: %v: stopping at once\n", name, sig)
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
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		stopped = true
		signal.Stop(sigs)
		close(done)
		cancel(nil)
	}
}

// Exit ends the command named name after main returned err: silently for
// nil or -h, else with err on stderr, one line per replica, and status 1.
func Exit(name string, stderr io.Writer, err error) {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(stderr, name+":", line)
	}
	os.Exit(1)
}
