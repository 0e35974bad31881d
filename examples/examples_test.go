// Package examples_test runs the example programs as a new user does:
// built with the go tool, with or without credentials in the environment,
// their output read from a pipe (not a terminal), stopped with Ctrl-C.
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var binDir string // where the examples are built

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gcnotify-examples-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// timeout bounds each run of a program; it is only reached on failure.
const timeout = 60 * time.Second

// build builds the three examples once, with the race detector if the
// tests have it.
var build = sync.OnceValue(func() error {
	goTool, err := exec.LookPath("go") // go test puts its own go first in PATH
	if err != nil {
		return err
	}
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "-race" && s.Value == "true" {
				args = append(args, "-race")
			}
		}
	}
	out, err := exec.Command(goTool, append(args, "./tail", "./presence", "./queue")...).CombinedOutput()
	if err != nil {
		return errors.New(string(out))
	}
	return nil
})

// A program is one of the examples, with what its lines mean.
type program struct {
	name string
	// kind tells what a line of its output shows: "change" (an event of a
	// subscribed topic), "drop" (the stream broke), "recovered" (connected
	// again after a gap), "resynced" (the state read again after a
	// connect) or "" (something else); check fails the test if the line is
	// malformed or its values are impossible.
	kind  func(line string) string
	check func(t *testing.T, line string)
	// resyncs is set for the programs that read the state again after
	// every gap (WithSnapshots).
	resyncs bool
}

var programs = []program{
	{name: "tail", kind: tailKind, check: checkTail},
	{name: "presence", kind: tableKind("presence", "routing"), check: checkPresence, resyncs: true},
	{name: "queue", kind: tableKind("update"), check: checkQueue, resyncs: true},
}

// run is one run of a program.
type run struct {
	stdout []string // its lines
	stderr string
	err    error // of Wait: nil for exit status 0
}

// start runs p with args and the environment of the tests without the
// GENESYS_ variables, plus env. It hands each line of its output to see,
// and interrupts the program (as Ctrl-C does) once see returns true; the
// program must then end by itself.
func (p program) start(t *testing.T, args, env []string, see func(line string) (enough bool)) run {
	t.Helper()
	if err := build(); err != nil {
		t.Fatalf("building the examples: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, p.name), args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GENESYS_") })
	// A program built with the race detector sleeps 1s before exiting,
	// unless told not to.
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var r run
	interrupted := false
	for sc := bufio.NewScanner(stdout); sc.Scan(); {
		r.stdout = append(r.stdout, sc.Text())
		if !interrupted && see(sc.Text()) {
			interrupted = true
			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.err = cmd.Wait()
	r.stderr = stderr.String()
	if ctx.Err() != nil {
		t.Fatalf("%s did not end within %v; output:\n%s\nstderr:\n%s", p.name, timeout, strings.Join(r.stdout, "\n"), r.stderr)
	}
	return r
}

// usageError runs p, expecting it to refuse to start: exit status 2, a
// message on stderr, nothing on stdout.
func (p program) usageError(t *testing.T, args, env []string) string {
	t.Helper()
	r := p.start(t, args, env, func(string) bool { return false })
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 2 || len(r.stdout) > 0 {
		t.Fatalf("%s %v: %v, stdout %q; want exit status 2 and no output", p.name, args, r.err, r.stdout)
	}
	return r.stderr
}

// The help names the arguments, the environment variables and demo mode,
// and exits 0.
func TestUsage(t *testing.T) {
	args := map[string]string{"tail": "[topic ...]", "presence": "[user-id[=name] ...]", "queue": "[queue-id[=name] ...]"}
	for _, p := range programs {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(p.name+flag, func(t *testing.T) {
				r := p.start(t, []string{flag}, nil, func(string) bool { return false })
				if r.err != nil {
					t.Fatalf("%s %s: %v", p.name, flag, r.err)
				}
				for _, want := range []string{"usage: " + p.name, args[p.name], "GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET",
					"GENESYS_ENVIRONMENT", "demo mode", "-drop-every"} {
					if !strings.Contains(r.stderr, want) {
						t.Errorf("the help lacks %q:\n%s", want, r.stderr)
					}
				}
				for line := range strings.Lines(r.stderr) {
					if n := width(strings.TrimSuffix(line, "\n")); n > 80 {
						t.Errorf("a help line is %d columns wide: %q", n, line)
					}
				}
			})
		}
	}
}

// width returns how many columns line takes on a terminal, with tab stops
// every 8 columns.
func width(line string) int {
	n := 0
	for _, r := range line {
		n++
		if r == '\t' {
			n = (n + 7) / 8 * 8
		}
	}
	return n
}

// With only some of the three variables set, a program refuses to start
// and names the missing ones, rather than quietly running the demo.
func TestSomeVariablesMissing(t *testing.T) {
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			msg := p.usageError(t, []string{"some-id"}, []string{"GENESYS_CLIENT_ID=id", "GENESYS_ENVIRONMENT=mypurecloud.ie"})
			if !strings.Contains(msg, "GENESYS_CLIENT_SECRET not set") || strings.Contains(msg, "demo mode:") {
				t.Errorf("stderr does not name the missing GENESYS_CLIENT_SECRET:\n%s", msg)
			}
		})
	}
}

// An unknown GENESYS_ENVIRONMENT is refused at once, with the valid
// regions, rather than retried forever.
func TestUnknownEnvironment(t *testing.T) {
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			msg := p.usageError(t, []string{"some-id"},
				[]string{"GENESYS_CLIENT_ID=id", "GENESYS_CLIENT_SECRET=hush", "GENESYS_ENVIRONMENT=mypurecloud.eu"})
			for _, want := range []string{p.name + ": GENESYS_ENVIRONMENT: ", `"mypurecloud.eu"`, "mypurecloud.ie", "usw2.pure.cloud"} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr lacks %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "hush") {
				t.Errorf("stderr shows the secret:\n%s", msg)
			}
		})
	}
}

// Demo mode refuses topics or ids: they would be subscribed on the fake
// server, which never publishes on them.
func TestDemoRefusesArguments(t *testing.T) {
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			msg := p.usageError(t, []string{"3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b"}, nil)
			if !strings.Contains(msg, "Genesys Cloud only") || !strings.Contains(msg, "GENESYS_CLIENT_ID") {
				t.Errorf("stderr does not explain that arguments need credentials:\n%s", msg)
			}
		})
	}
}

// A negative -drop-every is refused.
func TestDropEveryNegative(t *testing.T) {
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			if msg := p.usageError(t, []string{"-drop-every", "-1s"}, nil); !strings.Contains(msg, "-drop-every: -1s is negative") {
				t.Errorf("stderr does not name the negative -drop-every:\n%s", msg)
			}
		})
	}
}

// -drop-every 0 never drops: the demo runs, changes keep coming, and the
// stream never breaks.
func TestDropEveryZero(t *testing.T) {
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			changes, drops := 0, 0
			r := p.start(t, []string{"-drop-every", "0"}, nil, func(line string) bool {
				switch p.kind(line) {
				case "change":
					changes++
				case "drop", "recovered":
					drops++
				}
				return changes >= 10
			})
			if r.err != nil || changes < 10 || drops > 0 {
				t.Fatalf("%v; %d changes, %d drops or recoveries, want 10 and none:\n%s\n%s",
					r.err, changes, drops, strings.Join(r.stdout, "\n"), r.stderr)
			}
		})
	}
}

// The demo, as a new user runs it, announces itself, shows changes, drops
// and recoveries, and changes again after a recovery; the programs that
// read the state again say "resynced" after every recovery; into a pipe,
// its output is plain lines without terminal escape codes; Ctrl-C ends it
// with exit status 0.
func TestDemoRecovers(t *testing.T) {
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]int{}
			enough := func() bool {
				return seen["change"] > 0 && seen["drop"] >= 2 && seen["recovered"] >= 2 && seen["change after recovery"] > 0 &&
					(!p.resyncs || seen["resynced after recovery"] >= 2)
			}
			recovering := false // a recovery waits for its resynced line
			r := p.start(t, []string{"-drop-every", "700ms"}, nil, func(line string) bool {
				if strings.Contains(line, "\x1b") {
					t.Errorf("escape codes into a pipe: %q", line)
				}
				p.check(t, line)
				kind := p.kind(line)
				seen[kind]++
				switch kind {
				case "change":
					if seen["recovered"] > 0 {
						seen["change after recovery"]++
					}
				case "recovered":
					recovering = true
				case "resynced":
					if recovering {
						seen["resynced after recovery"]++
					}
					recovering = false
				case "drop":
					recovering = false // and its reads may never end
				}
				return enough()
			})
			if r.err != nil || !enough() || t.Failed() {
				t.Fatalf("%v; saw %v:\n%s\nstderr:\n%s", r.err, seen, strings.Join(r.stdout, "\n"), r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "demo mode: no credentials, using the embedded fake server\n") {
				t.Errorf("stderr does not start with the demo mode line:\n%s", r.stderr)
			}
		})
	}
}

// tailLine is the form of tail's lines: time, kind and what it says.
var tailLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (connected|notification|disconnected|rejected|dropped|snapshot|resynced) +(.+)$`)

func tailKind(line string) string {
	m := tailLine.FindStringSubmatch(line) // checkTail reports a mismatch
	switch {
	case m == nil:
		return ""
	case m[1] == "notification":
		return "change"
	case m[1] == "disconnected":
		return "drop"
	case m[1] == "connected" && strings.HasPrefix(m[2], "again after a "):
		return "recovered"
	}
	return ""
}

// checkTail checks that a line fits 80 columns and tells its time, its
// kind and what it says: a notification the short topic of one of the
// demo's agents and a presence, a drop why in plain words.
func checkTail(t *testing.T, line string) {
	m := tailLine.FindStringSubmatch(line)
	if m == nil || width(line) > 80 {
		t.Errorf("not a line of at most 80 columns that starts with its time and kind: %q", line)
		return
	}
	switch m[1] {
	case "notification":
		if !regexp.MustCompile(`^users\.[0-9a-f]{8}…\.presence (Available|Busy|Away|Meal|Meeting)$`).MatchString(m[2]) {
			t.Errorf("a notification without a short topic and a presence: %q", line)
		}
	case "disconnected":
		if !strings.HasPrefix(m[2], "retrying in ") || !strings.Contains(m[2], ": the server closed it") {
			t.Errorf("a drop that does not say why in plain words: %q", line)
		}
	}
}

// tailJSONLine is what the tests read of tail's JSON lines.
type tailJSONLine struct {
	Event     string
	Time      time.Time
	Topic     string
	Body      json.RawMessage
	Reconnect bool
	Gap       bool
}

func tailJSONKind(line string) string {
	var l tailJSONLine
	json.Unmarshal([]byte(line), &l) // checkTailJSON reports errors
	switch {
	case l.Event == "notification":
		return "change"
	case l.Event == "disconnected":
		return "drop"
	case l.Event == "connected" && l.Reconnect && l.Gap:
		return "recovered"
	}
	return ""
}

// checkTailJSON checks that a line is a JSON object that starts with its
// event and time, and that a notification carries a topic and a presence.
func checkTailJSON(t *testing.T, line string) {
	var l tailJSONLine
	if err := json.Unmarshal([]byte(line), &l); err != nil || !strings.HasPrefix(line, `{"event":"`+l.Event+`","time":"`) || l.Time.IsZero() {
		t.Errorf("not a JSON line that starts with its event and time: %q (%v)", line, err)
		return
	}
	if l.Event == "notification" {
		var body struct {
			PresenceDefinition struct{ SystemPresence string }
		}
		if err := json.Unmarshal(l.Body, &body); err != nil || !strings.HasPrefix(l.Topic, "v2.users.") || body.PresenceDefinition.SystemPresence == "" {
			t.Errorf("a notification without a presence: %q", line)
		}
	}
}

// tail -json prints today's JSON lines: the demo's changes, drops and
// recoveries, each one JSON object.
func TestTailJSON(t *testing.T) {
	t.Parallel()
	p := program{name: "tail", kind: tailJSONKind, check: checkTailJSON}
	seen := map[string]int{}
	r := p.start(t, []string{"-json", "-drop-every", "700ms"}, nil, func(line string) bool {
		p.check(t, line)
		seen[p.kind(line)]++
		return seen["change"] > 0 && seen["drop"] > 0 && seen["recovered"] > 0
	})
	if r.err != nil || seen["recovered"] == 0 || t.Failed() {
		t.Fatalf("%v; saw %v:\n%s\nstderr:\n%s", r.err, seen, strings.Join(r.stdout, "\n"), r.stderr)
	}
}

// tableKind classifies the plain lines of presence and queue, "15:04:05.000
// {why} …", where changes have one of the given whys. Snapshot lines are
// not changes: they show what was read after a connect.
func tableKind(changes ...string) func(string) string {
	return func(line string) string {
		_, rest, _ := strings.Cut(line, " ")
		why, rest, _ := strings.Cut(rest, " ")
		switch {
		case slices.Contains(changes, why):
			return "change"
		case why == "status" && strings.HasPrefix(rest, "reconnecting in "):
			return "drop"
		case why == "status" && strings.HasPrefix(rest, "connected after a "):
			return "recovered"
		case why == "status" && strings.HasPrefix(rest, "resynced: "):
			return "resynced"
		}
		return ""
	}
}

var (
	// A value not known yet (a notification came before the first
	// snapshot) is "-".
	presenceLine = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (presence|routing|snapshot) +"([^"]+)" ([A-Za-z ]+|-), ([A-Z_]+|-)$`)
	queueLine    = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} (update|snapshot) +"([^"]+)" waiting=(\d+|-) interacting=(\d+|-) onQueue=(\d+|-)$`)
	statusLine   = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} status (connecting|connected: reading \w+|` +
		`connected after a \S+ gap: reading \w+ again \(reconnect \d+\)|connected again, nothing missed \(reconnect \d+\)|` +
		`resynced: \d+ topics(, \d+ skipped)?(: .+)?|reconnecting in \S+: .+)$`)
)

// submatches returns the submatches of re in line; nil for a status line,
// and for any other line, which fails the test.
func submatches(t *testing.T, re *regexp.Regexp, line string) []string {
	m := re.FindStringSubmatch(line)
	if m == nil && !statusLine.MatchString(line) {
		t.Errorf("unexpected line %q", line)
	}
	return m
}

// checkPresence checks that a line is a status or the state of one of the
// demo's agents.
func checkPresence(t *testing.T, line string) {
	m := submatches(t, presenceLine, line)
	if m == nil {
		return
	}
	names := []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson"}
	presences := []string{"Available", "On Queue", "Busy", "Away", "Break", "Meal", "Meeting"}
	routings := []string{"OFF_QUEUE", "IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING"}
	if !slices.Contains(names, m[2]) || !slices.Contains(presences, m[3]) && m[3] != "-" || !slices.Contains(routings, m[4]) && m[4] != "-" {
		t.Errorf("impossible values in %q", line)
	}
}

// checkQueue checks that a line is a status or the counts of one of the
// demo's queues. The demo keeps at least one conversation waiting and one
// interacting, and a fixed number of agents on each queue: a count below
// that, or an agent total that moves, means that an update was misread.
// A count not known yet is "-".
func checkQueue(t *testing.T, line string) {
	m := submatches(t, queueLine, line)
	if m == nil {
		return
	}
	agents := map[string]string{"Support": "9", "Sales": "6", "Billing": "4"}
	atLeastOne := func(s string) bool {
		n, err := strconv.Atoi(s)
		return s == "-" || err == nil && n >= 1
	}
	if want, ok := agents[m[2]]; !ok || !atLeastOne(m[3]) || !atLeastOne(m[4]) || m[5] != want && m[5] != "-" {
		t.Errorf("misread counts in %q", line)
	}
}

// An example's main.go, copied alone into a module of its own as the
// start of a program, builds and links notify but neither notifytest nor
// the demo; without credentials it asks for them.
func TestMainAloneLinksOnlyNotify(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		t.Run(p.name, func(t *testing.T) {
			dir := t.TempDir()
			src, err := os.ReadFile(filepath.Join(p.name, "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			mod := "module example.com/copy\n\ngo 1.26.0\n\nrequire github.com/gcnotify/notify v0.0.0\n\nreplace github.com/gcnotify/notify => " + root + "\n"
			for name, data := range map[string][]byte{"main.go": src, "go.mod": []byte(mod), "go.sum": sum} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			goCmd := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(goTool, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			deps := strings.Fields(goCmd("list", "-deps", "-f", "{{.ImportPath}}", "."))
			if !slices.Contains(deps, "github.com/gcnotify/notify") {
				t.Errorf("the copy does not link notify: %q", deps)
			}
			for _, d := range deps {
				if strings.Contains(d, "notifytest") || strings.Contains(d, "/internal/demo") {
					t.Errorf("the copy of %s/main.go links %s", p.name, d)
				}
			}
			goCmd("build", "-o", "prog", ".")
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // a demo would run on
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(dir, "prog"))
			cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "GENESYS_") })
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_ENVIRONMENT") {
				t.Errorf("the copy without credentials: %v\n%s\nwant exit status 2 and a request for them", err, out)
			}
		})
	}
}
