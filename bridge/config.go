package bridge

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gcnotify/notify"
	"github.com/nats-io/nats.go"
)

// Defaults of the Config and StreamConfig fields.
const (
	DefaultStreamName   = "GENESYS"
	DefaultDuplicates   = 2 * time.Minute
	DefaultMaxInFlight  = 256
	DefaultBufferSize   = 100_000
	DefaultAckTimeout   = 5 * time.Second
	DefaultDrainTimeout = 30 * time.Second
)

// MinDuplicates is the shortest duplicate window a stream may have. The
// window must outlast the time between two replicas publishing the same
// event, including the time an event waits in a buffer while NATS is away.
const MinDuplicates = 2 * time.Minute

// Config configures a Bridge. Zero fields take the defaults above.
type Config struct {
	// Client is a notify client whose topics are subscribed (Subscribe may
	// be called before or while the bridge runs). The bridge runs it and
	// closes it when Run ends; nothing else may read its Events.
	Client *notify.Client

	// NATSURL is the NATS server URL, or a comma-separated list of the
	// URLs of a cluster's servers. Required.
	NATSURL string

	// NATSOptions are applied to nats.Connect after the bridge's own
	// (a name, endless reconnects, connection retry at start), for
	// credentials, TLS or reconnect timing.
	NATSOptions []nats.Option

	// Stream is the JetStream stream the bridge creates or updates.
	Stream StreamConfig

	// Replica names this bridge in the subjects of its lifecycle records,
	// "gc._bridge.<replica>.<kind>", and in the Bridge-Replica header.
	// Dots, wildcards and spaces are replaced by "-". Required.
	Replica string

	// MaxInFlight is how many publishes may wait for their
	// acknowledgement at once. Default 256.
	MaxInFlight int

	// BufferSize is how many notifications the bridge holds while it
	// cannot publish them; more are dropped and counted. Default 100,000.
	BufferSize int

	// AckTimeout is how long a publish may wait for its acknowledgement
	// before it is sent again. Default 5s.
	AckTimeout time.Duration

	// DrainTimeout bounds how long Run keeps publishing the buffer after
	// its context ended. Default 30s.
	DrainTimeout time.Duration

	// Logger receives the bridge's records. Default: none.
	Logger *slog.Logger
}

// StreamConfig is the part of the JetStream stream configuration the
// bridge sets. Its subjects are always "gc.>" and its storage is file
// storage.
type StreamConfig struct {
	// Name of the stream. Default "GENESYS".
	Name string
	// Duplicates is the stream's de-duplication window, at least
	// MinDuplicates. Default 2m.
	Duplicates time.Duration
	// MaxAge, MaxBytes and MaxMsgs limit the stream; zero is unlimited.
	MaxAge   time.Duration
	MaxBytes int64
	MaxMsgs  int64
	// Replicas is the number of copies of the stream in a NATS cluster.
	// Default 1.
	Replicas int
}

// withDefaults returns c with its zero fields set to their defaults, or an
// error if a field is invalid.
func (c Config) withDefaults() (Config, error) {
	if c.Client == nil {
		return c, errors.New("bridge: Config.Client is nil")
	}
	if c.NATSURL == "" {
		return c, errors.New("bridge: Config.NATSURL is empty")
	}
	c.Replica = sanitizeToken(c.Replica)
	if c.Replica == "" {
		return c, errors.New("bridge: Config.Replica is empty")
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.MaxInFlight < 1:
		return c, fmt.Errorf("bridge: MaxInFlight must be positive, got %d", c.MaxInFlight)
	case c.BufferSize < 1:
		return c, fmt.Errorf("bridge: BufferSize must be positive, got %d", c.BufferSize)
	case c.AckTimeout < 0 || c.DrainTimeout < 0:
		return c, errors.New("bridge: AckTimeout and DrainTimeout must not be negative")
	}
	var err error
	c.Stream, err = c.Stream.withDefaults()
	return c, err
}

func (s StreamConfig) withDefaults() (StreamConfig, error) {
	if s.Name == "" {
		s.Name = DefaultStreamName
	}
	if s.Duplicates == 0 {
		s.Duplicates = DefaultDuplicates
	}
	if s.Replicas == 0 {
		s.Replicas = 1
	}
	switch {
	case strings.ContainsAny(s.Name, ".*> \t\r\n/\\"):
		return s, fmt.Errorf("bridge: invalid stream name %q", s.Name)
	case s.Duplicates < MinDuplicates:
		return s, fmt.Errorf("bridge: duplicate window %v is shorter than %v", s.Duplicates, MinDuplicates)
	case s.MaxAge != 0 && s.MaxAge < s.Duplicates:
		return s, fmt.Errorf("bridge: MaxAge %v is shorter than the duplicate window %v", s.MaxAge, s.Duplicates)
	case s.MaxAge < 0 || s.MaxBytes < 0 || s.MaxMsgs < 0:
		return s, errors.New("bridge: stream limits must not be negative")
	case s.Replicas < 1 || s.Replicas > 5:
		return s, fmt.Errorf("bridge: stream replicas must be 1 to 5, got %d", s.Replicas)
	}
	return s, nil
}
