package testbed

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATS is an embedded nats-server with JetStream, listening on 127.0.0.1
// and storing in a directory, so that it can be stopped and started again
// on the same port and store.
type NATS struct {
	dir string

	mu   sync.Mutex
	port int // -1 until the first start
	srv  *server.Server
}

// StartNATS starts a server on a random port that stores in dir.
func StartNATS(dir string) (*NATS, error) {
	n := &NATS{dir: dir, port: -1}
	return n, n.Start()
}

// Start starts the server again, on the same port and store. It does
// nothing if it is running.
func (n *NATS) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv != nil {
		return nil
	}
	opts := &server.Options{
		ServerName: "gcnotify-embedded",
		Host:       "127.0.0.1",
		Port:       n.port,
		JetStream:  true,
		StoreDir:   n.dir,
		NoSigs:     true,
		NoLog:      true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("testbed: nats-server: %w", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return errors.New("testbed: nats-server did not start within 10s")
	}
	n.port = s.Addr().(*net.TCPAddr).Port
	n.srv = s
	return nil
}

// Stop shuts the server down and waits until it has stopped. It does
// nothing if it is not running.
func (n *NATS) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// URL returns the client URL, "nats://127.0.0.1:PORT".
func (n *NATS) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return fmt.Sprintf("nats://127.0.0.1:%d", n.port)
}

// Dir returns the store directory.
func (n *NATS) Dir() string { return n.dir }
