package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/genesys"
	"github.com/gcnotify/notify/internal/topic"
)

// TopicTemplate returns the template of a topic: the topic with each of
// its ids replaced by "{id}", such as "v2.users.{id}.presence" for
// "v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence". It tells a
// topic's kind, and it is a label of low cardinality for metrics and logs.
// It needs no catalog and no connection.
//
//   - Two ids: "v2.users.8f0e….outbound.contactlists.c0ff….export" is
//     "v2.users.{id}.outbound.contactlists.{id}.export".
//   - The combined form keeps its suffix: "v2.users.8f0e…?presence&routingStatus"
//     is "v2.users.{id}?presence&routingStatus". A Notification never
//     carries it: its Topic is one of the expansions, such as
//     "v2.users.8f0e….presence".
//   - Token-frame topics are paths: "/users/42/presence" is
//     "/users/{id}/presence".
//
// A segment is taken for an id unless it is made of ASCII letters and
// underscores only, as every fixed segment of the Genesys templates is
// ("routingStatus", "conversationsummary", "socket_closing"); the ids
// Genesys puts in their place (UUIDs, numbers, language codes such as
// "en-us", channel ids) all have a digit or a "-". So an id made of letters
// only, such as an audit entity type ("User") or a test id ("alice"), is
// kept as it is, and so is the first segment ("v2"). A string of any other
// shape comes back with the same rule applied to its dot-separated
// segments: "channel.metadata" is itself, "" is "", and a placeholder such
// as "{userId}" becomes "{id}".
func TopicTemplate(name string) string {
	return topic.Template(name)
}

// How long a read of the topic catalog is used before it is read again,
// and how long after a failed read the next one is made.
const (
	catalogRefresh = 24 * time.Hour
	catalogRetry   = time.Hour
)

// catalog is the server's topic catalog, read by Run (WithTopicCatalog),
// which the topics a change adds are checked against.
type catalog struct {
	read func(context.Context) ([]genesys.AvailableTopic, error)
	clk  clock.Clock
	log  *slog.Logger

	mu      sync.Mutex
	trace   *Trace        // WithTrace; nil if none
	known   *knownTopics  // the last catalog read; nil while none could be
	reading chan struct{} // closed once Run's first read has ended; nil before Run
}

// knownTopics is one read of the catalog.
type knownTopics struct {
	templates *topic.Catalog
	onWS      map[string]bool // by template: a channel can carry it
}

// newCatalog returns the catalog of a client configured by cfg, reading
// with api, or nil if cfg does not ask for one: WithTopicCatalog was not
// given, or the client speaks the token-frame protocol, which has none.
func newCatalog(cfg config, api *genesys.API, log *slog.Logger) *catalog {
	if !cfg.topicCatalog || cfg.tokenFrameURL != "" {
		return nil
	}
	return &catalog{read: api.AvailableTopics, clk: cfg.clock, log: log, trace: cfg.trace}
}

// startCatalog reads the topic catalog before Run connects, if the client
// has one: topics of the set that it refuses leave the set and are
// reported as Rejected events, before anything is subscribed. It then
// reads it again every 24 hours, or an hour after a failed read, in a
// goroutine that wg tracks, until ctx ends.
func (c *Client) startCatalog(ctx context.Context, wg *sync.WaitGroup) {
	k := c.catalog
	if k == nil {
		return
	}
	k.mu.Lock()
	k.reading = make(chan struct{})
	k.mu.Unlock()
	ok := k.load(ctx)
	close(k.reading)
	c.dropRefused(ctx)

	next := k.clk.NewTimer(refreshIn(ok))
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer next.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-next.C():
			}
			next.Reset(refreshIn(k.load(ctx)))
		}
	}()
}

// refreshIn is how long after a read, successful or not, the next is made.
func refreshIn(ok bool) time.Duration {
	if ok {
		return catalogRefresh
	}
	return catalogRetry
}

// load reads the catalog and reports whether it could. A failed read, or
// an empty catalog, is logged and keeps the previous read, if any.
func (k *catalog) load(ctx context.Context) bool {
	start := k.clk.Now()
	list, err := k.read(ctx)
	if err == nil && len(list) == 0 {
		err = errors.New("the server lists no topics")
	}
	k.trace.catalogRead(len(list), k.clk.Now().Sub(start), err)
	if err != nil {
		if ctx.Err() == nil {
			k.mu.Lock()
			checking := k.known != nil
			k.mu.Unlock()
			k.log.Warn("notify: cannot read the topic catalog", "err", err,
				"checking_against_previous_read", checking, "retry_in", catalogRetry)
		}
		return false
	}
	known := &knownTopics{onWS: make(map[string]bool, len(list))}
	ids := make([]string, len(list))
	for i, t := range list {
		ids[i] = t.ID
		known.onWS[t.ID] = topic.OnWebSocket(t.Transports)
	}
	known.templates = topic.NewCatalog(ids)
	k.mu.Lock()
	k.known = known
	k.mu.Unlock()
	k.log.Debug("notify: topic catalog read", "templates", known.templates.Len())
	return true
}

// current returns the last catalog read, or nil. While Run's first read is
// in flight it waits for it, or for ctx to end.
func (k *catalog) current(ctx context.Context) (*knownTopics, error) {
	k.mu.Lock()
	known, reading := k.known, k.reading
	k.mu.Unlock()
	if known != nil || reading == nil {
		return known, nil
	}
	select {
	case <-reading:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.known, nil
}

// checkCatalog refuses, with ErrInvalidTopic, the first of topics that the
// server's catalog does not list or that a channel cannot carry. Without a
// catalog read (no WithTopicCatalog, before Run, or a failed read) it
// checks nothing; while Run's first read is in flight it waits for it.
func (c *Client) checkCatalog(ctx context.Context, topics []string) error {
	if c.catalog == nil || len(topics) == 0 {
		return nil
	}
	known, err := c.catalog.current(ctx)
	if known == nil {
		return err
	}
	for _, t := range topics {
		if why := known.refuse(t); why != "" {
			return fmt.Errorf("%w: %q: %s", ErrInvalidTopic, t, why)
		}
	}
	return nil
}

// dropRefused removes from the set the topics that the catalog refuses,
// before Run subscribes anything, and reports each as a Rejected event.
func (c *Client) dropRefused(ctx context.Context) {
	known, _ := c.catalog.current(ctx)
	if known == nil {
		return
	}
	var refused []Rejected
	var names []string
	for _, t := range c.Topics() {
		if why := known.refuse(t); why != "" {
			refused = append(refused, Rejected{Topic: t, Reason: why})
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return
	}
	// Run has not started the owners yet: the set changes at once, and
	// nothing is sent.
	c.Unsubscribe(context.WithoutCancel(ctx), names...)
	for _, r := range refused {
		c.log.Warn("notify: topic refused by the topic catalog", "topic", r.Topic, "reason", r.Reason)
		c.out.push(r)
	}
}

// refuse returns why the catalog refuses a topic as given to Subscribe,
// the combined form included, or "" if it does not.
func (k *knownTopics) refuse(name string) string {
	for _, part := range topic.Expand(name) {
		if why := k.refusePart(part); why != "" {
			if part != name {
				return part + ": " + why
			}
			return why
		}
	}
	return ""
}

// refusePart returns why the catalog refuses one topic (not the combined
// form), or "".
func (k *knownTopics) refusePart(name string) string {
	t, ok := k.templates.Match(name)
	if !ok {
		return "not in the server's topic catalog; did you mean " + k.templates.Nearest(name) + "?"
	}
	if !k.onWS[t] {
		return "the server delivers " + t + " over EventBridge only, not on a WebSocket channel"
	}
	return ""
}
