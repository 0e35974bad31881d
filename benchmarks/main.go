// Command benchmarks measures the notify client and prints one Markdown
// table of results, ready to paste into the README, for both wire
// protocols (docs/protocol.md §1 Genesys, §2 token-frame):
//
//   - throughput: events per second a consumer receives from a server that
//     writes frames as fast as it can, for three client loops: raw
//     coder/websocket reads (the ceiling), raw reads decoded with
//     encoding/json (what a naive hand-written client does) and a
//     notify.Client reading Events(). Median of -runs runs of -events
//     frames each, timed from the first frame received to the last.
//   - recovery: after notifytest's DropAll, the time until the first
//     notification published after the reconnect arrives (p50, p99, max of
//     -drops drops), with a zero first backoff delay.
//   - memory: goroutines and bytes that one idle, connected client costs,
//     averaged over -clients clients.
//   - subscribe: the time to subscribe notify.MaxTopics topics from cold,
//     and how many REST calls it took.
//
// The servers of the throughput, memory and subscribe sections run in a
// child process: this program re-executes itself with -serve (a firehose
// server) or -serve-notifytest (a notifytest.Server) and talks to it over
// loopback. On a small machine an in-process server would compete with the
// client for the same CPUs and its goroutines would be counted as the
// client's, so the numbers would describe the pair, not the client. The
// child prints its URLs on stdout and exits when its stdin closes, which
// happens when the parent exits for whatever reason.
//
// Usage:
//
//	go run ./benchmarks [-events N] [-runs R] [-clients C] [-drops D] [-only section]
//
// Progress goes to stderr, results to stdout.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

var sections = []string{"throughput", "recovery", "memory", "subscribe"}

func main() {
	events := flag.Int("events", 300000, "events per throughput run")
	runs := flag.Int("runs", 3, "throughput runs per loop; the median is reported")
	clients := flag.Int("clients", 1000, "idle clients for the memory section")
	drops := flag.Int("drops", 100, "connection drops for the recovery section")
	only := flag.String("only", "", "run only this section: "+strings.Join(sections, ", "))
	serve := flag.Bool("serve", false, "internal: run the firehose server (child process)")
	serveNT := flag.Bool("serve-notifytest", false, "internal: run a notifytest server (child process)")
	cpuprofile := flag.String("cpuprofile", "", "write the client process's CPU profile to this file")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("benchmarks: ")

	switch {
	case *serve:
		serveFirehose(*events)
		return
	case *serveNT:
		serveNotifytest()
		return
	}
	if *events < 2 || *runs < 1 || *clients < 1 || *drops < 1 {
		log.Fatal("-events must be at least 2, and -runs, -clients and -drops at least 1")
	}
	if *only != "" && !slices.Contains(sections, *only) {
		log.Fatalf("unknown section %q; valid: %s", *only, strings.Join(sections, ", "))
	}
	want := func(s string) bool { return *only == "" || *only == s }
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}

	fmt.Printf("Command: `%s`\n\n", commandLine())
	fmt.Printf("Machine: %s\n\n", machine())

	var t table
	if want("throughput") {
		check(throughput(&t, *events, *runs))
	}
	if want("recovery") {
		check(recovery(&t, *drops))
	}
	if want("memory") || want("subscribe") {
		nt, urls, err := startChild("-serve-notifytest", 2)
		check(err)
		if want("memory") {
			check(memory(&t, urls[0], urls[1], *clients))
		}
		if want("subscribe") {
			check(subscribe(&t, urls[0], urls[1]))
		}
		nt.stop()
	}
	progress("goroutines left running: %d", runtime.NumGoroutine())
	t.print(os.Stdout)
}

func check(err error) {
	if err != nil {
		log.Fatal(err) // exits; the children see their stdin close and exit too
	}
}

// commandLine is the command that started this run, as typed: go run
// builds into a temporary go-build directory.
func commandLine() string {
	args := os.Args[1:]
	cmd := os.Args[0]
	if strings.Contains(cmd, "go-build") {
		cmd = "go run ./benchmarks"
	}
	return strings.TrimSpace(cmd + " " + strings.Join(args, " "))
}

// machine is the Go version, platform, CPU count and CPU model.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s %s/%s, nproc %d, %s", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model)
}

// progress reports on stderr, to keep stdout for the results.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}

// child is a server running in a copy of this program.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startChild runs this program with the given flag and returns the first
// lines it prints, its URLs.
func startChild(mode string, lines int, args ...string) (*child, []string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(exe, append([]string{mode}, args...)...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	c := &child{cmd: cmd, stdin: stdin}
	got := make(chan []string, 1)
	go func() {
		var out []string
		sc := bufio.NewScanner(stdout)
		for len(out) < lines && sc.Scan() {
			out = append(out, sc.Text())
		}
		got <- out
		io.Copy(io.Discard, stdout) // until the child exits
	}()
	select {
	case out := <-got:
		if len(out) == lines {
			return c, out, nil
		}
	case <-time.After(30 * time.Second):
	}
	c.stop()
	return nil, nil, fmt.Errorf("child %s did not print its URLs", mode)
}

// stop closes the child's stdin, which makes it exit, and waits for it.
func (c *child) stop() {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// untilStdinCloses blocks a child process until its parent goes away.
func untilStdinCloses() {
	io.Copy(io.Discard, os.Stdin)
}

// table is the results: one row per measurement, one column per protocol,
// and notes on how they were measured.
type table struct {
	rows  [][3]string
	notes []string
}

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

func (t *table) add(what, genesys, tokenFrame string) {
	t.rows = append(t.rows, [3]string{what, genesys, tokenFrame})
}

func (t *table) print(w io.Writer) {
	fmt.Fprintln(w, "| benchmark | Genesys (§1) | token-frame (§2) |")
	fmt.Fprintln(w, "| --- | ---: | ---: |")
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	fmt.Fprintln(w)
	for _, n := range t.notes {
		fmt.Fprintln(w, "- "+n)
	}
}
