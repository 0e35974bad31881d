package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

// bin is the command, built once for the tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gcnotify-bridge-demo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "gcnotify-bridge-demo")
	code := 1
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
	} else {
		code = m.Run()
		if err := goleak.Find(); code == 0 && err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// timeout bounds every wait of the tests; it is only reached on failure.
const timeout = 60 * time.Second

// proc is a running command.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string // stdout, line by line; closed at EOF
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 1024)}
	p.cmd.Stderr = lockedWriter{p}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.stdout.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default: // nobody waits for lines now
			}
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.wait(t)
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", p.out(), p.errOut())
		}
	})
	return p
}

type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

func (p *proc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *proc) errOut() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// waitLine waits for a line of stdout that matches re and returns its
// submatches.
func (p *proc) waitLine(t *testing.T, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("the command ended without printing a line like %q", re)
			}
			if m := r.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("timed out waiting for a line like %q", re)
		}
	}
}

// wait waits for the command to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	for range p.lines { // to EOF, so that Wait may be called
	}
	err := p.cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		t.Fatal(err)
		return -1
	}
}

func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// running starts the demo with the embedded nats-server and waits until it
// publishes; it returns the process and its temporary store.
func running(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	p := start(t, append([]string{"-drop-every", "0", "-demo-rate", "200", "-replica", "s"}, args...)...)
	store := p.waitLine(t, `msg="embedded nats-server started; its store is removed at exit" nats=\S+ store=(\S+)$`)[1]
	t.Cleanup(func() { // a failed test kills the command: leave no store behind
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.wait(t)
		}
		os.RemoveAll(store)
	})
	p.waitLine(t, `msg="every replica is subscribed: publishing"$`)
	if _, err := os.Stat(store); err != nil {
		t.Fatalf("the store: %v", err)
	}
	return p, store
}

func gone(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary store %s is still there (%v)", dir, err)
	}
}

// SIGHUP, SIGINT and SIGTERM each stop the demo as -for does: it drains,
// checks the stream, removes its temporary store and exits 0.
func TestSignalStopsAndRemovesStore(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p, store := running(t, "-status-every", "0")
			p.signal(t, sig)
			if code := p.wait(t); code != 0 {
				t.Errorf("exit code %d after %v, want 0", code, sig)
			}
			if !strings.Contains(p.out(), `msg="stopping: closing the Genesys clients and publishing what is held" why="`+sig.String()+"; a second signal stops at once") {
				t.Errorf("the log does not say that %v stops it", sig)
			}
			if !regexp.MustCompile(`(?m)msg="verified the stream" .* verdict.duplicates=0 verdict.lost=0( |$)`).MatchString(p.out()) {
				t.Error("no verify record with nothing lost")
			}
			gone(t, store)
		})
	}
}

// A second signal stops the demo at once, in the middle of a drain that
// cannot end (its stream is sealed), and the store goes all the same.
func TestSecondSignalStopsAtOnceAndRemovesStore(t *testing.T) {
	p, store := running(t, "-status-every", "50ms", "-drain-timeout", "1h")
	sealStream(t, natsURL(t, p))
	p.waitLine(t, `msg=replica replica=s-1 .* held=[1-9]`) // events the bridge cannot publish
	p.signal(t, syscall.SIGTERM)
	p.waitLine(t, `msg="stopping: closing the Genesys clients`)
	p.signal(t, syscall.SIGINT)
	if code := p.wait(t); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit code %d, want %d", code, 128+int(syscall.SIGINT))
	}
	if !strings.Contains(p.errOut(), "gcnotify-bridge-demo: interrupt: stopping at once") {
		t.Error("stderr does not say that the second signal stops it at once")
	}
	gone(t, store)
}

// natsURL returns the embedded nats-server's URL from the demo's output.
func natsURL(t *testing.T, p *proc) string {
	t.Helper()
	m := regexp.MustCompile(`msg="embedded nats-server started; its store is removed at exit" nats=(\S+)`).FindStringSubmatch(p.out())
	if m == nil {
		t.Fatal("no nats-server URL in the output")
	}
	return m[1]
}

// sealStream seals the demo's stream, so that no publish succeeds.
func sealStream(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s, err := js.Stream(ctx, "GENESYS")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.Sealed = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
}

// With NATS unreachable, the command stops on SIGTERM after
// -drain-timeout with one line on stderr per replica that says what it
// could not publish and why, and exits 1.
func TestUnreachableNATSOneErrorPerReplica(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + ln.Addr().String()
	ln.Close()
	p := start(t, "-nats", url, "-drain-timeout", "1s", "-status-every", "0", "-replica", "u")
	p.waitLine(t, `msg="every replica is subscribed: publishing"$`)
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	var errs []string
	for _, line := range strings.Split(p.errOut(), "\n") {
		if strings.Contains(line, "drain timed out") {
			errs = append(errs, line)
		}
	}
	if len(errs) != 2 {
		t.Fatalf("%d error lines, want one per replica: %q", len(errs), errs)
	}
	for i, line := range errs {
		want := fmt.Sprintf("gcnotify-bridge-demo: bridge: drain timed out: replica u-%d: ", i+1)
		if !strings.HasPrefix(line, want) || !strings.Contains(line, "not connected to NATS at "+url) {
			t.Errorf("error line %q, want %q… not connected to NATS at %s…", line, want, url)
		}
	}
}
