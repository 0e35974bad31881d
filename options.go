package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/wire"
)

// An Option configures a Client. Options are checked by New, which reports
// the first invalid one.
type Option func(*config) error

// Defaults of the options.
const (
	DefaultEnvironment      = "mypurecloud.com"
	DefaultBackoffInitial   = time.Second
	DefaultBackoffMax       = 30 * time.Second
	DefaultHeartbeatTimeout = 45 * time.Second
	DefaultEventBuffer      = 1024
	DefaultReadLimit        = 1 << 20
	DefaultRenewMargin      = time.Hour
	DefaultMaxChannels      = 20
)

// Environments lists the Genesys Cloud environments (regions) that
// WithEnvironment and ClientCredentials accept.
var Environments = []string{
	"mypurecloud.com", "mypurecloud.ie", "mypurecloud.de", "mypurecloud.jp",
	"mypurecloud.com.au", "usw2.pure.cloud", "cac1.pure.cloud", "apne2.pure.cloud",
	"euw2.pure.cloud", "aps1.pure.cloud", "use2.us-gov-pure.cloud", "sae1.pure.cloud",
	"mec1.pure.cloud", "apne3.pure.cloud", "euc2.pure.cloud", "mxc1.pure.cloud",
	"apse1.pure.cloud", "edee1.eusc-pure.cloud",
}

type config struct {
	env            string
	envSet         bool     // WithEnvironment was given
	apiBase        *url.URL // nil: https://api.{env}
	httpClient     *http.Client
	backoffInitial time.Duration
	backoffMax     time.Duration
	maxAttempts    int
	heartbeat      time.Duration
	eventBuffer    int
	readLimit      int64
	renewMargin    time.Duration
	tokenFrameURL  string // "": the Genesys Cloud protocol
	logger         *slog.Logger
	requestBudget  int
	maxChannels    int
	snapshots      bool
	topicCatalog   bool
	clock          clock.Clock
	trace          *Trace                      // nil: no hooks
	protocol       func(num int) wire.Protocol // tests only: replaces the wire protocol
}

func defaultConfig() config {
	return config{
		env:            DefaultEnvironment,
		httpClient:     http.DefaultClient,
		backoffInitial: DefaultBackoffInitial,
		backoffMax:     DefaultBackoffMax,
		heartbeat:      DefaultHeartbeatTimeout,
		eventBuffer:    DefaultEventBuffer,
		readLimit:      DefaultReadLimit,
		renewMargin:    DefaultRenewMargin,
		logger:         slog.New(slog.DiscardHandler),
		requestBudget:  DefaultRequestBudget,
		maxChannels:    DefaultMaxChannels,
		clock:          clock.Real,
	}
}

// WithEnvironment selects the Genesys Cloud environment, such as
// "mypurecloud.ie". The client uses https://api.{env} for REST and accepts
// stream URLs on streaming.{env} only. It must be one of Environments, or a
// host or URL of one, read as the environment: "api.mypurecloud.ie" and
// "https://apps.mypurecloud.ie/directory/" are "mypurecloud.ie". Anything
// else makes New fail with an error matching ErrUnknownEnvironment that
// lists Environments. Default: "mypurecloud.com".
func WithEnvironment(env string) Option {
	return func(c *config) error {
		e, err := environment(env)
		if err != nil {
			return err
		}
		c.env, c.envSet = e, true
		return nil
	}
}

// environmentHosts are the prefixes of an environment's hosts: REST, OAuth,
// the WebSocket, and the web app whose address users see.
var environmentHosts = []string{"", "api.", "login.", "streaming.", "apps."}

// environment returns the environment of Environments that env names: as
// it is, as one of its hosts, or as a URL of one; letter case and
// surrounding spaces do not count. Anything else is an error matching
// ErrUnknownEnvironment that names env and lists Environments.
func environment(env string) (string, error) {
	host := strings.ToLower(strings.TrimSpace(env))
	if u, err := url.Parse(host); err == nil && u.Scheme != "" && u.Host != "" {
		host = u.Hostname()
	}
	for _, e := range Environments {
		for _, prefix := range environmentHosts {
			if host == prefix+e {
				return e, nil
			}
		}
	}
	return "", fmt.Errorf("%w %q: the Genesys Cloud regions are %s", ErrUnknownEnvironment, env, strings.Join(Environments, ", "))
}

// WithAPIBaseURL replaces https://api.{env} as the base of REST calls; the
// client appends /api/v2/…. It is meant for tests and proxies. The URL must
// be https, or http on a loopback host (127.0.0.0/8, ::1, localhost). Stream
// URLs are then accepted on this host as well as on streaming.{env}; ws://
// only on loopback. Default: none, https://api.{env} is used.
func WithAPIBaseURL(base string) Option {
	return func(c *config) error {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("notify: API base URL: %w", err)
		}
		switch {
		case u.Host == "":
			return fmt.Errorf("notify: API base URL %q has no host", base)
		case u.Scheme == "http" && !wire.IsLoopback(u.Hostname()):
			return fmt.Errorf("%w: http:// is allowed on loopback only, not %q", ErrInsecureURL, u.Host)
		case u.Scheme != "http" && u.Scheme != "https":
			return fmt.Errorf("notify: API base URL %q must be https", base)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			return fmt.Errorf("notify: API base URL %q must not carry credentials, a query or a fragment", u.Redacted())
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		c.apiBase = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client used for REST calls and for the
// WebSocket handshake, so its TLS settings and proxy apply to both.
// Default: http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("notify: nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithBackoff sets the delays between reconnection attempts: the first
// waits about initial, each next one about twice as long, never more than
// max, with ±50% jitter (clamped to max). The client never gives up unless
// WithMaxAttempts says so. An initial of zero retries at once, every time;
// use it only in tests. Default: 1s initial, 30s max.
func WithBackoff(initial, max time.Duration) Option {
	return func(c *config) error {
		if initial < 0 || max <= 0 || initial > max {
			return fmt.Errorf("notify: backoff needs 0 <= initial <= max and max > 0, got %v and %v", initial, max)
		}
		c.backoffInitial, c.backoffMax = initial, max
		return nil
	}
}

// WithMaxAttempts ends Run, with the last error, after n connection
// attempts in a row have failed. Default: 0, never give up.
func WithMaxAttempts(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("notify: max attempts must be >= 0, got %d", n)
		}
		c.maxAttempts = n
		return nil
	}
}

// WithHeartbeatTimeout sets how long a socket may stay silent. Genesys sends
// a heartbeat about every 30 seconds. A socket silent for d gets a ping; if
// it is still silent d/2 later it is replaced, so a dead socket is gone
// within 1.5×d. It also bounds connecting: a connection whose set is not in
// place within d after it opens is replaced, and a dial that takes longer
// than 2×d (not counting waits for WithRequestBudget) is given up and
// reported. Default: 45s.
func WithHeartbeatTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("notify: heartbeat timeout must be positive, got %v", d)
		}
		c.heartbeat = d
		return nil
	}
}

// WithEventBuffer sets how many events may wait in Events() for the
// consumer. When it is full, further notifications are counted, not
// queued, and reported in order as one Dropped event per run of drops
// (notifications dropped with nothing passed on between them), so two
// Dropped never follow each other; lifecycle events are never dropped.
// Default: 1024.
func WithEventBuffer(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("notify: event buffer must be at least 1, got %d", n)
		}
		c.eventBuffer = n
		return nil
	}
}

// WithReadLimit sets the largest socket frame the client accepts, in
// bytes. A larger frame ends the connection with an error and the client
// reconnects. Default: 1 MiB.
func WithReadLimit(n int64) Option {
	return func(c *config) error {
		if n < 1024 {
			return fmt.Errorf("notify: read limit must be at least 1024 bytes, got %d", n)
		}
		c.readLimit = n
		return nil
	}
}

// WithChannelRenewal sets how long before its channel expires the client
// subscribes the set again, which extends the channel (Genesys channels
// live 24 hours unless renewed). With the token-frame protocol it is how
// long before the token expires that a new one is sent on the socket. The
// margin is capped at half the channel's or token's lifetime. Default: 1h.
func WithChannelRenewal(margin time.Duration) Option {
	return func(c *config) error {
		if margin <= 0 {
			return fmt.Errorf("notify: channel renewal margin must be positive, got %v", margin)
		}
		c.renewMargin = margin
		return nil
	}
}

// WithLogger sets the logger for connection lifecycle records. Tokens are
// never logged. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("notify: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithMaxChannels sets how many channels the client may hold at once,
// handovers included: Genesys allows 20 per user or OAuth client, and
// creating one more evicts another. The client keeps one of them spare,
// so the set may spread over n-1 channels ((n-1)×TopicsPerChannel topics;
// MaxTopics at the default), and the spare carries the handovers of
// planned closes: when several channels are warned at once, they hand
// over one after the other, each make-before-break. With n = 1 there is no
// spare: a planned close is followed by a reconnect with a gap. Lower it
// when other clients share the OAuth client. Default: 20.
func WithMaxChannels(n int) Option {
	return func(c *config) error {
		if n < 1 || n > DefaultMaxChannels {
			return fmt.Errorf("notify: max channels must be 1 to %d, got %d", DefaultMaxChannels, n)
		}
		c.maxChannels = n
		return nil
	}
}

// WithSnapshots makes the client read, over REST, the state of the
// topics that have a reader after the first Connected of each channel,
// after every Connected with Gap, and for the topics a change adds while
// connected: presence (v2.users.{id}.presence),
// routing status (v2.users.{id}.routingStatus) and queue observations
// (v2.analytics.queues.{id}.observations), and both parts of the combined
// v2.users.{id}?presence&routingStatus. It reads in bulk (50 users a
// presence request, 100 a routing-status request, 100 queues an
// observation query) within WithRequestBudget, after the socket is
// subscribed, so no change falls between the read and the stream. Each
// topic read is delivered as a Snapshot, then one Resynced lists what was
// read and skipped (one per Connected, and one per change that added
// topics). A failed read skips its topics with the error; it
// never costs the stream. The token-frame protocol has no readers: its
// topics are all skipped. Default: off.
func WithSnapshots() Option {
	return func(c *config) error {
		c.snapshots = true
		return nil
	}
}

// WithTopicCatalog makes the client check topics against the server's
// topic catalog, GET /api/v2/notifications/availabletopics. Run reads it
// before it connects, within WithRequestBudget, and again every 24 hours
// while it runs. Subscribe then refuses, with ErrInvalidTopic and before
// anything is sent, a topic that matches none of its templates, or whose
// template the server delivers over EventBridge only, not on a WebSocket
// channel; the error names the topic and the nearest template ("did you
// mean v2.users.{id}.presence?"). Each part of a combined topic is checked.
// A Subscribe made while Run's first read is under way waits for it.
// Topics subscribed before Run are checked when the catalog arrives: those
// it refuses leave the set and are reported as Rejected events before the
// set is subscribed. If the catalog cannot be read, the client logs a
// warning, checks nothing (or keeps checking against the previous read)
// and reads it again an hour later. The token-frame protocol has no
// catalog: there the option does nothing. Default: off.
func WithTopicCatalog() Option {
	return func(c *config) error {
		c.topicCatalog = true
		return nil
	}
}

// WithRequestBudget sets how many REST calls the client makes in any
// rolling minute: channel creations, subscription changes and snapshot
// reads all draw from it, and a 429 pauses them all for its Retry-After.
// Genesys allows 300 calls a minute per OAuth token, shared with the
// service's own calls. Default: DefaultRequestBudget (120).
func WithRequestBudget(perMinute int) Option {
	return func(c *config) error {
		if perMinute < 1 {
			return fmt.Errorf("notify: request budget must be at least 1 a minute, got %d", perMinute)
		}
		c.requestBudget = perMinute
		return nil
	}
}

// WithTrace makes the client call t's hooks as things happen to it, for
// metrics (see Trace); a nil t calls none. Default: none.
func WithTrace(t *Trace) Option {
	return func(c *config) error {
		c.trace = t
		return nil
	}
}

// WithTokenFrameEndpoint switches the client to the token-frame protocol
// (docs/protocol.md, "token-frame") at the given URL, such as
// "wss://api.mypurecloud.com/api/v2/notifications": the token is sent as
// the first socket frame and topics, such as "/users/{id}/presence", are
// subscribed with frames. The URL must be wss://, or ws:// on a loopback
// host, since a token travels on the socket. Default: none, the Genesys
// Cloud Notifications API is used.
func WithTokenFrameEndpoint(endpoint string) Option {
	return func(c *config) error {
		u, err := url.Parse(endpoint)
		if err != nil {
			return fmt.Errorf("notify: token-frame endpoint: %w", err)
		}
		switch {
		case u.Host == "":
			return fmt.Errorf("notify: token-frame endpoint %q has no host", endpoint)
		case u.User != nil:
			return fmt.Errorf("notify: token-frame endpoint %q must not carry credentials", u.Redacted())
		case u.Scheme == "ws" && !wire.IsLoopback(u.Hostname()):
			return fmt.Errorf("%w: ws:// is allowed on loopback only, not %q", ErrInsecureURL, u.Host)
		case u.Scheme != "ws" && u.Scheme != "wss":
			return fmt.Errorf("%w: token-frame endpoint must be wss://, not %q", ErrInsecureURL, u.Scheme)
		}
		c.tokenFrameURL = endpoint
		return nil
	}
}

// apiBaseURL returns the REST base URL without a trailing slash.
func (c *config) apiBaseURL() string {
	if c.apiBase != nil {
		return c.apiBase.String()
	}
	return "https://api." + c.env
}
