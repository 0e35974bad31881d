// Package screen is the terminal output the examples share: a table
// redrawn in place under a status line, or, in plain mode, one timestamped
// line per change.
package screen

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// A Screen writes to w. Its table comes from rows, which writes a header
// and one line per row, with tab-separated cells.
type Screen struct {
	w      io.Writer
	plain  bool
	title  string
	rows   func(io.Writer)
	status string
	drawn  bool
	err    error // the first write error
}

// New returns a Screen titled title; plain selects one line per change.
func New(w io.Writer, plain bool, title string, rows func(io.Writer)) *Screen {
	return &Screen{w: w, plain: plain, title: title, rows: rows}
}

// Err returns the first write error.
func (s *Screen) Err() error { return s.err }

// Status replaces the status line.
func (s *Screen) Status(status string) {
	s.status = status
	if s.plain {
		s.printf("%s status %s\n", stamp(), status)
		return
	}
	s.redraw()
}

// Changed shows a change: in plain mode as the line format describes,
// after a time stamp; else by redrawing, unless quiet (a refresh that a
// Status call ends).
func (s *Screen) Changed(quiet bool, format string, args ...any) {
	if s.plain {
		s.printf("%s "+format+"\n", append([]any{stamp()}, args...)...)
		return
	}
	if !quiet {
		s.redraw()
	}
}

// redraw draws the status line and the table over the previous frame.
func (s *Screen) redraw() {
	var buf bytes.Buffer
	if !s.drawn {
		buf.WriteString("\x1b[2J") // clear the screen once
		s.drawn = true
	}
	buf.WriteString("\x1b[H") // then draw from the top left corner
	s.render(&buf)
	buf.WriteString("\x1b[J") // and clear what the previous frame left below
	s.printf("%s", buf.Bytes())
}

// render writes one frame, each line ending with "clear to end of line".
func (s *Screen) render(w io.Writer) {
	var tab bytes.Buffer
	tw := tabwriter.NewWriter(&tab, 0, 0, 2, ' ', 0)
	s.rows(tw)
	tw.Flush()
	fmt.Fprintf(w, "%s · %s · %s\x1b[K\n\x1b[K\n", s.title, time.Now().Format("15:04:05"), s.status)
	for line := range strings.Lines(tab.String()) {
		fmt.Fprintf(w, "%s\x1b[K\n", strings.TrimRight(line, "\n"))
	}
}

func (s *Screen) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

func stamp() string { return time.Now().Format("15:04:05.000") }
