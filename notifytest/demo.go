package notifytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// A Demo makes a Server look like a busy organization behind a flaky
// network, for example programs and for trying a client by hand: Step
// publishes a change every Tick, and every DropEvery all the sockets are
// dropped, so that a client has to reconnect and report a gap. Run it with
// Server.RunDemo.
type Demo struct {
	// Tick is how often Step is called. Default (when zero) 250ms.
	Tick time.Duration

	// Step publishes the n-th change (n counts from 0), usually with
	// Server.Publish. It is called on RunDemo's goroutine, one call at a
	// time, and must not call Server.Close. Nil: nothing is published.
	Step func(n int)

	// DropEvery is how often every open socket is dropped abruptly, as
	// Server.DropAll does. Zero: never.
	DropEvery time.Duration
}

// RunDemo runs d on s until ctx is done or s is closed: it calls d.Step
// every d.Tick and drops every socket every d.DropEvery. It returns
// ctx.Err() if ctx ended, nil if s was closed, and an error at once if a
// duration of d is negative. Close waits for RunDemo to return, so
//
//	go srv.RunDemo(ctx, demo)
//	defer srv.Close()
//
// leaves nothing running.
func (s *Server) RunDemo(ctx context.Context, d Demo) error {
	if d.Tick < 0 || d.DropEvery < 0 {
		return fmt.Errorf("notifytest: negative Demo duration: Tick %v, DropEvery %v", d.Tick, d.DropEvery)
	}
	if d.Tick == 0 {
		d.Tick = 250 * time.Millisecond
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

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
			return ctx.Err()
		case <-s.done:
			return nil
		case <-drop:
			s.DropAll()
		case <-tick.C:
			if d.Step != nil {
				d.Step(n)
			}
			n++
		}
	}
}

// credentialVars are the environment variables that CredentialsFromEnv
// reads, in the order of the fields of Credentials.
var credentialVars = []string{"GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET", "GENESYS_ENVIRONMENT"}

// Credentials are what a program needs to use the real Genesys Cloud
// service rather than a Server: an OAuth client that has the client
// credentials grant, and its environment, such as "mypurecloud.ie".
type Credentials struct {
	ClientID, ClientSecret, Environment string
}

// CredentialsFromEnv is the switch of a program that, like the examples of
// this module, runs against Genesys Cloud when it is given credentials and
// in demo mode, against a Server, when it is not. It reads
// GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT with
// getenv (such as os.Getenv). If all are set it returns them and ok;
// if none is set it returns ok == false: demo mode. If only some are set
// it returns an error that names the missing ones, so that a typo does not
// quietly start the demo.
func CredentialsFromEnv(getenv func(string) string) (c Credentials, ok bool, err error) {
	values := make([]string, len(credentialVars))
	var set, missing []string
	for i, name := range credentialVars {
		values[i] = getenv(name)
		if values[i] == "" {
			missing = append(missing, name)
		} else {
			set = append(set, name)
		}
	}
	switch len(set) {
	case 0:
		return Credentials{}, false, nil
	case len(credentialVars):
		return Credentials{ClientID: values[0], ClientSecret: values[1], Environment: values[2]}, true, nil
	}
	return Credentials{}, false, errors.New(listNames(missing) + " not set, but " + listNames(set) +
		": set them all to use Genesys Cloud, or none for the demo")
}

// listNames joins names as in "A, B and C is" or "A and B are".
func listNames(names []string) string {
	verb := " are"
	if len(names) == 1 {
		verb = " is"
	}
	last := len(names) - 1
	if last == 0 {
		return names[0] + verb
	}
	return strings.Join(names[:last], ", ") + " and " + names[last] + verb
}

// A Screen is the output of a demo program, such as the examples of this
// module: a title and a status line over a table, redrawn in place at
// every change on a terminal, or one time-stamped line per change
// anywhere else (a pipe, a file), with no escape codes. Its layout fits 80
// columns: the title line is cut to 80 characters and every cell of the
// table to 24.
//
// A Screen is not safe for concurrent use.
type Screen struct {
	w      io.Writer
	redraw bool
	title  string
	table  func() [][]string
	status string
	err    error // the first write error
}

// Widths of a Screen's layout.
const (
	screenWidth = 80
	cellWidth   = 24
)

// NewScreen returns a Screen that writes to w. If redraw, every change
// redraws the title, the status and the table from the top left corner of
// the terminal; do that only if Terminal(w). table returns the rows of the
// table, its header first; it is called at each redraw, on the goroutine
// of the change.
func NewScreen(w io.Writer, redraw bool, title string, table func() [][]string) *Screen {
	return &Screen{w: w, redraw: redraw, title: title, table: table}
}

// Terminal reports whether w is a terminal (an *os.File on a character
// device), where a Screen can redraw in place.
func Terminal(w io.Writer) bool {
	f, _ := w.(*os.File)
	fi, err := f.Stat() // an error for a nil *os.File
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Status sets the status line and shows it: it redraws, or writes the line
// "15:04:05.000 status {status}".
func (s *Screen) Status(status string) {
	s.status = status
	s.Change("status %s", status)
}

// Change shows a change: it redraws, or writes a line of format and args
// after a time stamp, such as "15:04:05.000 {line}".
func (s *Screen) Change(format string, args ...any) {
	if s.err != nil {
		return
	}
	now := time.Now()
	if !s.redraw {
		_, s.err = fmt.Fprintf(s.w, "%s %s\n", now.Format("15:04:05.000"), fmt.Sprintf(format, args...))
		return
	}
	var frame strings.Builder
	fmt.Fprintf(&frame, "%s\n\n", clip(s.title+" · "+now.Format("15:04:05")+" · "+s.status, screenWidth))
	tw := tabwriter.NewWriter(&frame, 0, 0, 2, ' ', 0)
	for _, row := range s.table() {
		cells := make([]string, len(row))
		for i, cell := range row {
			cells[i] = clip(cell, cellWidth)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	// Draw over the previous frame: from the top left corner, clearing the
	// rest of every line, then everything below.
	_, s.err = io.WriteString(s.w, "\x1b[H"+strings.ReplaceAll(frame.String(), "\n", "\x1b[K\n")+"\x1b[J")
}

// Err returns the first error writing to w; after it, the Screen writes
// nothing more.
func (s *Screen) Err() error { return s.err }

// clip cuts s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
