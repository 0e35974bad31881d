package notifytest

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config configures a Server. The zero value is ready to use: every field
// has a default, stated in its documentation, that replaces its zero value.
type Config struct {
	// HeartbeatInterval is how often every open channel socket receives a
	// "WebSocket Heartbeat" channel.metadata frame. Token-frame sockets get
	// no heartbeat frames: their keepalive is WebSocket ping/pong.
	// Default (when zero) 30s; a negative value disables heartbeats.
	HeartbeatInterval time.Duration

	// ChannelTTL is how long a channel lives after its creation or after its
	// last successful subscription PUT or POST. An expired channel answers
	// 404 everywhere and its socket gets v2.system.no_longer_subscribed.
	// Default (when zero or negative) 24h.
	ChannelTTL time.Duration

	// MaxTopics is the maximum number of topics a channel, or a token-frame
	// socket, may be subscribed to. A PUT or POST that would exceed it
	// answers 400 and changes nothing; a token-frame subscription that would
	// exceed it answers an error frame with status 400 and the topic.
	// Default (when zero or negative) 1000.
	MaxTopics int

	// MaxChannels is the maximum number of channels per app (OAuth client;
	// see App): the tokens of one app share the limit. Creating one more
	// evicts (as Server.Evict does) the app's channel without an open socket
	// that was used least recently, or, if they all have one, the least
	// recently used one. A channel is used when it is created, when a socket
	// connects to it or closes, and by every REST request on it.
	// Default (when zero or negative) 20.
	MaxChannels int

	// App returns the app (OAuth client) that a bearer token belongs to, for
	// MaxChannels and for GET /channels?includechannels=oauthclient. It may
	// be called concurrently and must not call the Server's methods.
	// Default: every token belongs to one app.
	App func(token string) string

	// SocketClosingDelay is how long after its v2.system.socket_closing
	// warning (SocketClosing, SocketClosingAll) a channel socket is closed,
	// with status 1001 (going away), whatever the client does. Genesys
	// warns about a minute ahead. Default (when zero or negative) 1m.
	SocketClosingDelay time.Duration

	// ClientID and ClientSecret are the client credentials that the token
	// endpoint (TokenURL) accepts. Defaults (when empty)
	// "notifytest-client" and "notifytest-secret".
	ClientID     string
	ClientSecret string

	// TokenLifetime is the lifetime of the tokens that the token endpoint
	// issues, rounded up to whole seconds (its answer's expires_in); the
	// server refuses them once it has passed. Default (when zero or
	// negative) 24h.
	TokenLifetime time.Duration

	// Permit decides whether a topic may be subscribed to. When it returns
	// ok == false, the REST API reports the topic as "Rejected" with reason
	// and missingPermissions, and a token-frame socket answers an error
	// frame with status 403, the topic and reason as its message. It may be
	// called concurrently and must not call the Server's methods. Default:
	// every topic is permitted.
	Permit func(topic string) (ok bool, reason string, missingPermissions []string)

	// Topics adds templates to the server's topic catalog, the built-in one
	// of AvailableTopics: GET /api/v2/notifications/availabletopics lists
	// them, and a channel may subscribe to their topics. A template whose
	// ID is built in replaces that one. Default: none, the built-in
	// catalog alone.
	Topics []AvailableTopic

	// Authorize decides whether a token is accepted: the bearer token of a
	// REST request, which answers 401 if it is rejected, and the token of
	// an access_token frame on a token-frame socket, which is then refused
	// with an error frame (status 401) and closed with status 4001. It is
	// asked only about tokens that the server has not refused on its own:
	// the empty token, tokens revoked by TokenRevoked or ExpireTokens, and
	// expired tokens of the token endpoint are always refused. It may be
	// called concurrently and must not call the Server's methods.
	// Default: every other token is accepted, whether the token endpoint
	// issued it or not.
	Authorize func(token string) bool
}

// Default values of the Config fields.
const (
	defaultHeartbeatInterval  = 30 * time.Second
	defaultChannelTTL         = 24 * time.Hour
	defaultMaxTopics          = 1000
	defaultMaxChannels        = 20
	defaultSocketClosingDelay = time.Minute
	defaultClientID           = "notifytest-client"
	defaultClientSecret       = "notifytest-secret"
	defaultTokenLifetime      = 24 * time.Hour
)

// defaultAuthTimeout is how long a token-frame socket may wait before
// sending its access_token frame.
const defaultAuthTimeout = 5 * time.Second

// writeTimeout bounds every frame written by the server, so that a client
// that stops reading cannot block it forever. It also bounds how long
// Publish waits for a pending upgrade.
const writeTimeout = 5 * time.Second

func (c Config) withDefaults() Config {
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = defaultHeartbeatInterval
	}
	if c.ChannelTTL <= 0 {
		c.ChannelTTL = defaultChannelTTL
	}
	if c.MaxTopics <= 0 {
		c.MaxTopics = defaultMaxTopics
	}
	if c.MaxChannels <= 0 {
		c.MaxChannels = defaultMaxChannels
	}
	if c.App == nil {
		c.App = func(string) string { return "" }
	}
	if c.SocketClosingDelay <= 0 {
		c.SocketClosingDelay = defaultSocketClosingDelay
	}
	if c.ClientID == "" {
		c.ClientID = defaultClientID
	}
	if c.ClientSecret == "" {
		c.ClientSecret = defaultClientSecret
	}
	if c.TokenLifetime <= 0 {
		c.TokenLifetime = defaultTokenLifetime
	}
	c.TokenLifetime = time.Duration(math.Ceil(c.TokenLifetime.Seconds())) * time.Second
	if c.Permit == nil {
		c.Permit = func(string) (bool, string, []string) { return true, "", nil }
	}
	if c.Authorize == nil {
		c.Authorize = func(string) bool { return true }
	}
	return c
}

// Server is an in-process fake of the Genesys Cloud Notifications API: the
// REST endpoints under /api/v2/notifications/channels and the channel
// WebSockets, the token-frame WebSockets at /api/v2/notifications, the
// OAuth token endpoint, and the state of a fake organization with its REST
// readers (presences, routing statuses, queue observations). Create one
// with NewServer and release it with Close.
//
// All methods are safe for concurrent use.
type Server struct {
	cfg     Config
	hs      *httptest.Server
	wsURL   string
	orgID   string    // the organizationId of system messages
	started time.Time // the version of the state of users never set

	sockets chan string   // see Sockets
	kick    chan struct{} // wakes the janitor when an expiry changes
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	once    sync.Once
	stateMu sync.Mutex // serializes the state setters, see state.go

	mu       sync.Mutex
	closed   bool
	seq      uint64 // channels created
	useSeq   uint64 // channel uses, see touchLocked
	channels map[string]*channel
	socks    map[*socket]struct{} // every socket whose handler is running
	stats    Stats
	fail     failure            // FailNext
	failOn   map[string]failure // FailNextOn, by path pattern
	failUp   failure            // FailUpgrades
	tfSeq    uint64             // token-frame sockets accepted
	tfConns  map[string]*socket // the authenticated token-frame sockets, by id
	subbed   chan struct{}      // closed and replaced when a subscription may have appeared, see WaitSubscribed
	tokens   tokenBook          // see auth.go
	org      orgState           // see state.go
	topics   *topicCatalog      // see catalog.go

	// authTimeout is how long a token-frame socket may wait before sending
	// its access_token frame (see SetAuthTimeout in export_test.go).
	authTimeout time.Duration

	// Test hooks, set before the server is used (see export_test.go).
	hookAccepted    func(channelID string) // after Accept, before registration
	hookUpgradeWait func(channelID string) // a request waits for an upgrade
	hookReserved    func(topic string)     // Publish chose its sockets, before writing
	hookPongWait    func(id string)        // a ping waits for reserved frames
	hookWarnDone    func(id string)        // the wait of a warned socket ended
}

// channel is the server side state of one notification channel.
type channel struct {
	id        string
	token     string // the token that created it
	lastToken string // the token of the last REST request on it
	app       string // Config.App of token
	seq       uint64 // creation order
	lastUse   uint64 // see touchLocked
	expires   time.Time
	topics    map[string]struct{}
	sock      *socket // the open socket, if any

	// upgrading counts the WebSocket upgrades in progress on this channel;
	// upgraded is closed when it drops back to zero. Both are guarded by
	// Server.mu. upgradeMu serializes the upgrades.
	upgrading int
	upgraded  chan struct{}
	upgradeMu sync.Mutex
}

// Channel describes a live channel, as returned by Server.Channels.
type Channel struct {
	// ID is the channel id, "streaming-0-…".
	ID string
	// Expires is when the channel expires unless extended.
	Expires time.Time
	// Connected reports whether a socket is open on the channel.
	Connected bool
	// Topics is the number of topics the channel is subscribed to.
	Topics int
}

// Stats counts what a Server did, as returned by Server.Stats.
type Stats struct {
	// ChannelsCreated counts the POST /channels requests that succeeded.
	ChannelsCreated int
	// SubscriptionCalls counts the authorized PUT, POST and DELETE requests
	// on a channel's subscriptions, including those that failed, but not
	// those answered by FailNext or FailNextOn.
	SubscriptionCalls int
	// PresenceReads counts the authorized presence reads, bulk
	// (/api/v2/users/presences/purecloud/bulk) or of one user
	// (/api/v2/users/{id}/presences/purecloud), including those answered
	// 400, but not those answered by FailNext or FailNextOn. ObservationQueries
	// and UserReads count the same way.
	PresenceReads int
	// UserReads counts the authorized user reads: GET /api/v2/users and
	// GET /api/v2/users/{id}/routingstatus.
	UserReads int
	// ObservationQueries counts the authorized
	// POST /api/v2/analytics/queues/observations/query requests.
	ObservationQueries int
	// TopicCatalogReads counts the authorized
	// GET /api/v2/notifications/availabletopics requests.
	TopicCatalogReads int
	// TokenRequests counts the requests to the token endpoint, refused ones
	// included, but not those answered by FailNextOn.
	TokenRequests int
	// TokensIssued counts the tokens the token endpoint issued.
	TokensIssued int
	// Sockets counts the sockets accepted in total, channel and token-frame
	// sockets alike.
	Sockets int
	// Open is the number of sockets open now, channel and token-frame
	// sockets alike.
	Open int
	// Published counts the frames written by Publish and by the state
	// setters (the sum of their delivered results).
	Published int
	// Reauths counts the access_token frames accepted on token-frame
	// sockets that were already authenticated.
	Reauths int
	// DuplicateSubscribes counts the topic frames of token-frame sockets
	// that were already subscribed to the topic.
	DuplicateSubscribes int
}

// NewServer starts a Server listening on 127.0.0.1 on a random port.
// Zero fields of cfg take their defaults.
func NewServer(cfg Config) *Server {
	s := &Server{
		cfg:      cfg.withDefaults(),
		sockets:  make(chan string, 1024),
		kick:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		channels: make(map[string]*channel),
		socks:    make(map[*socket]struct{}),
		failOn:   make(map[string]failure),
		tfConns:  make(map[string]*socket),
		subbed:   make(chan struct{}),
		tokens:   newTokenBook(),
		org:      newOrgState(),
		topics:   newTopicCatalog(cfg.Topics),
		orgID:    newUUID(),
		started:  time.Now().UTC().Truncate(time.Millisecond),

		authTimeout: defaultAuthTimeout,
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.wsURL = "ws" + strings.TrimPrefix(s.hs.URL, "http")
	s.wg.Add(1)
	go s.janitor()
	return s
}

// URL returns the API base URL, "http://127.0.0.1:PORT": the REST
// endpoints are under URL()+"/api/v2/", the token endpoint is
// URL()+"/oauth/token" (TokenURL).
func (s *Server) URL() string {
	return s.hs.URL
}

// Close closes every socket abruptly and the listener, and waits until all
// the goroutines of the server have exited. It is idempotent.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		socks := make([]*socket, 0, len(s.socks))
		for sk := range s.socks {
			socks = append(socks, sk)
		}
		for _, ch := range s.channels {
			ch.sock = nil
		}
		clear(s.tfConns)
		s.mu.Unlock()

		close(s.done)
		for _, sk := range socks {
			sk.kill()
		}
		s.hs.Close()
		s.wg.Wait()
	})
}

// Sockets returns a channel that receives the channel id each time a
// channel socket is accepted and registered, and the connection id
// ("tokenframe-N") each time a token-frame socket is authenticated, after
// its "connected" frame is written, so that tests can wait for connections.
// A client subscribes only after it connected: to wait until a Publish
// reaches it, use WaitSubscribed.
// It is buffered (1024); when it is full, ids are dropped rather than
// blocking the server. Every call returns the same channel.
func (s *Server) Sockets() <-chan string {
	return s.sockets
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Channels returns all live channels, oldest first.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	dead := s.expireLocked(time.Now())
	chans := s.sortedLocked(func(*channel) bool { return true })
	out := make([]Channel, len(chans))
	for i, ch := range chans {
		out[i] = Channel{
			ID:        ch.id,
			Expires:   ch.expires,
			Connected: ch.sock != nil,
			Topics:    len(ch.topics),
		}
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	return out
}

// Subscriptions returns the sorted topics of the channel, or of the open,
// authenticated token-frame socket with that connection id, or nil if it
// has none or does not exist.
func (s *Server) Subscriptions(id string) []string {
	s.mu.Lock()
	dead := s.expireLocked(time.Now())
	var out []string
	if ch := s.channels[id]; ch != nil {
		out = sortedTopics(ch.topics)
	} else if sk := s.tfConns[id]; sk != nil {
		out = sortedTopics(sk.tf.topics)
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	return out
}

// sortedTopics returns the topics of a subscription set, sorted, or nil if
// it is empty.
func sortedTopics(topics map[string]struct{}) []string {
	if len(topics) == 0 {
		return nil
	}
	out := make([]string, 0, len(topics))
	for t := range topics {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// sortedLocked returns the channels for which keep is true, oldest first.
func (s *Server) sortedLocked(keep func(*channel) bool) []*channel {
	var out []*channel
	for _, ch := range s.channels {
		if keep(ch) {
			out = append(out, ch)
		}
	}
	slices.SortFunc(out, func(a, b *channel) int {
		return cmp.Compare(a.seq, b.seq)
	})
	return out
}

// createLocked creates a channel for token, which belongs to app, evicting
// channels of app beyond MaxChannels. It returns the new channel and the
// sockets of the evicted channels.
func (s *Server) createLocked(token, app string, now time.Time) (*channel, []*socket) {
	var evicted []*socket
	for {
		mine := s.sortedLocked(func(ch *channel) bool { return ch.app == app })
		if len(mine) < s.cfg.MaxChannels {
			break
		}
		// The least recently used channel without a socket, or else the
		// least recently used one.
		victim := slices.MinFunc(mine, func(a, b *channel) int {
			return cmp.Or(cmp.Compare(a.connected(), b.connected()), cmp.Compare(a.lastUse, b.lastUse))
		})
		if sk := s.removeLocked(victim); sk != nil {
			evicted = append(evicted, sk)
		}
	}

	var id string
	for id == "" || s.channels[id] != nil {
		id = "streaming-0-" + strings.ToLower(rand.Text())
	}
	s.seq++
	ch := &channel{
		id:      id,
		token:   token,
		app:     app,
		seq:     s.seq,
		expires: now.Add(s.cfg.ChannelTTL),
		topics:  make(map[string]struct{}),
	}
	s.touchLocked(ch, token)
	s.channels[id] = ch
	s.stats.ChannelsCreated++
	s.wakeJanitor()
	return ch, evicted
}

// connected returns 1 if a socket is open or being opened on ch, else 0.
func (ch *channel) connected() int {
	if ch.sock != nil || ch.upgrading > 0 {
		return 1
	}
	return 0
}

// touchLocked records a use of ch, and token as the last one used on it
// unless it is empty.
func (s *Server) touchLocked(ch *channel, token string) {
	s.useSeq++
	ch.lastUse = s.useSeq
	if token != "" {
		ch.lastToken = token
	}
}

// removeLocked deletes ch and detaches its socket, which it returns.
func (s *Server) removeLocked(ch *channel) *socket {
	delete(s.channels, ch.id)
	sk := ch.sock
	ch.sock = nil
	return sk
}

// expireLocked removes the channels that expired at now and returns their
// sockets, to be given noLongerSubscribed once s.mu is released.
func (s *Server) expireLocked(now time.Time) []*socket {
	var dead []*socket
	for _, ch := range s.channels {
		if now.Before(ch.expires) {
			continue
		}
		if sk := s.removeLocked(ch); sk != nil {
			dead = append(dead, sk)
		}
	}
	return dead
}

// lookupLocked returns the live channel id, or nil. Expired channels found
// on the way are removed and their sockets appended to *dead.
func (s *Server) lookupLocked(id string, dead *[]*socket) *channel {
	*dead = append(*dead, s.expireLocked(time.Now())...)
	return s.channels[id]
}

// wakeJanitor tells the janitor that an expiry time changed.
func (s *Server) wakeJanitor() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// janitor expires channels on time, so that their sockets are told even if
// nobody touches the server.
func (s *Server) janitor() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := time.Now()
		s.mu.Lock()
		dead := s.expireLocked(now)
		var next time.Time
		for _, ch := range s.channels {
			if next.IsZero() || ch.expires.Before(next) {
				next = ch.expires
			}
		}
		s.mu.Unlock()
		s.noLongerSubscribed(dead)

		if next.IsZero() {
			t.Stop()
		} else {
			t.Reset(next.Sub(now))
		}
		select {
		case <-s.done:
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

var errServerClosed = errors.New("notifytest: server closed")

// awaitUpgrades blocks until no WebSocket upgrade is in progress on the
// channel id (or it does not exist), ctx is done or the server is closed.
// A socket whose upgrade response was written before the call is therefore
// registered when it returns.
func (s *Server) awaitUpgrades(ctx context.Context, id string) error {
	for {
		s.mu.Lock()
		ch := s.channels[id]
		if ch == nil || ch.upgrading == 0 {
			s.mu.Unlock()
			return nil
		}
		wait := ch.upgraded
		hook := s.hookUpgradeWait
		s.mu.Unlock()

		if hook != nil {
			hook(id)
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errServerClosed
		}
	}
}

// spawn runs f in a goroutine that Close waits for. It returns false, and
// does not run f, if the server is closed.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// newUUID returns a random (version 4) UUID string.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
