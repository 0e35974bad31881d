package screen

import (
	"bytes"
	"context"
	"strings"
)

// A Watcher is the io.Writer an example's test gives to its run function:
// it hands every complete line to see and cancels the run once see has
// seen enough, so that a test lasts as long as the demo needs to show it,
// and longer on a loaded machine rather than failing.
type Watcher struct {
	all, partial bytes.Buffer
	see          func(line string) (enough bool)
	cancel       context.CancelFunc
}

// Watch returns a Watcher that calls see for each line and cancel once it
// reports enough.
func Watch(see func(line string) (enough bool), cancel context.CancelFunc) *Watcher {
	return &Watcher{see: see, cancel: cancel}
}

// Write takes output and passes on the complete lines.
func (w *Watcher) Write(p []byte) (int, error) {
	w.all.Write(p)
	w.partial.Write(p)
	for {
		line, err := w.partial.ReadString('\n')
		if err != nil {
			w.partial.WriteString(line)
			return len(p), nil
		}
		if w.see(strings.TrimSuffix(line, "\n")) {
			w.cancel()
		}
	}
}

// String returns all the output so far.
func (w *Watcher) String() string { return w.all.String() }
