package notify

import "time"

// Trace is a set of hooks that a Client calls as things happen to it, for
// metrics, in the manner of net/http/httptrace.ClientTrace. Give it with
// WithTrace; package github.com/gcnotify/notify/otelnotify makes one that
// records OpenTelemetry metrics.
//
// Any field may be nil: a nil hook costs the client a nil check. Each hook
// is called synchronously, on the goroutine where the thing happened and
// sometimes while the client holds a lock, so it must return quickly and
// must not call the Client's methods. Hooks are called from several
// goroutines at once (each channel has its own, and REST calls and the
// consumer's side run apart), so they must be safe for concurrent use.
// The Info types may gain fields in later versions.
type Trace struct {
	// Channel is called when one of the client's channels gets a
	// connection after having none (just before its Connected event), and
	// when it loses it (before the Disconnected event), or stops with its
	// connection up, at the end of Run or when its topics move to other
	// channels. A handover from one connection to the next calls neither.
	// So the calls with Up set, minus those without, are the channels
	// connected now: a gauge.
	Channel func(ChannelInfo)

	// Connected is called with every Connected event, just before it is
	// put on Events().
	Connected func(ConnectedInfo)

	// Disconnected is called with every Disconnected event, just before it
	// is put on Events(): a connection was lost or an attempt failed.
	Disconnected func(DisconnectedInfo)

	// Delivered is called for each notification put on Events(), just
	// after: the consumer may have received it already. It is called
	// while the client holds the lock of the event buffer: it is on the
	// path of every event.
	Delivered func(DeliveredInfo)

	// Dropped is called for each notification that is not delivered
	// because the consumer fell behind and the buffer (WithEventBuffer) is
	// full; a Dropped event on Events() reports it too. It is called while
	// the client holds the lock of the event buffer.
	Dropped func(DroppedInfo)

	// Request is called when each REST request ends, answered or not:
	// channel creations, subscription changes, snapshot reads and catalog
	// reads, each try separately (a retry after a 429 or a 401 is a
	// second request).
	Request func(RequestInfo)

	// BudgetWait is called each time the request budget (WithRequestBudget)
	// lets a REST request go, with how long the request waited for it,
	// zero when it went at once.
	BudgetWait func(BudgetWaitInfo)

	// Resynced is called when the state read after a gap (WithSnapshots)
	// is done: its Snapshot events are on Events(), and its Resynced event
	// follows.
	Resynced func(ResyncedInfo)

	// CatalogRead is called when a read of the topic catalog
	// (WithTopicCatalog) ends, successful or not.
	CatalogRead func(CatalogReadInfo)
}

// ChannelInfo is the argument of Trace.Channel.
type ChannelInfo struct {
	// ChannelID is the id of the connection's channel: the new one when
	// Up is set, the one whose connection ended otherwise.
	ChannelID string
	// Up is set when the channel got a connection, and clear when it lost
	// it or stopped.
	Up bool
}

// ConnectedInfo is the argument of Trace.Connected: the Connected event.
type ConnectedInfo struct {
	// ChannelID is the id of the connection's channel.
	ChannelID string
	// Reconnect is false for a channel's first connection of Run.
	Reconnect bool
	// Gap reports that events may have been missed since the previous
	// connection; a handover has Reconnect without Gap.
	Gap bool
	// Downtime is the gap's length: how long no connection of this
	// channel was up. Zero without Gap.
	Downtime time.Duration
	// Topics is the number of topics the connection carries.
	Topics int
}

// DisconnectedInfo is the argument of Trace.Disconnected: the
// Disconnected event.
type DisconnectedInfo struct {
	// ChannelID is the id of the lost connection's channel; empty when an
	// attempt reached no channel.
	ChannelID string
	// Err says why the connection ended or the attempt failed.
	Err error
	// RetryIn is how long the client waits before the next attempt.
	RetryIn time.Duration
}

// DeliveredInfo is the argument of Trace.Delivered.
type DeliveredInfo struct {
	// Topic is the notification's topic, such as
	// "v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence".
	Topic string
}

// DroppedInfo is the argument of Trace.Dropped.
type DroppedInfo struct {
	// Topic is the dropped notification's topic.
	Topic string
}

// RequestInfo is the argument of Trace.Request.
type RequestInfo struct {
	// Route is the request's method and path template, without ids or
	// query, such as "PUT /api/v2/notifications/channels/{id}/subscriptions".
	Route string
	// Status is the answer's HTTP status code; 0 when no answer came (a
	// network error, or the request's context ended).
	Status int
	// Duration is how long the request took, from sending it to reading
	// the answer's body; the wait for the request budget is not part of it.
	Duration time.Duration
}

// BudgetWaitInfo is the argument of Trace.BudgetWait.
type BudgetWaitInfo struct {
	// Wait is how long the request waited for the budget: behind other
	// requests, for a free call in the rolling minute, or for a 429's
	// Retry-After. Zero when it went at once.
	Wait time.Duration
}

// ResyncedInfo is the argument of Trace.Resynced.
type ResyncedInfo struct {
	// ChannelID is the channel whose gap was resynchronized, as in the
	// Resynced event.
	ChannelID string
	// Duration is how long the reads took, budget waits and retries
	// included.
	Duration time.Duration
	// Snapshots is the number of topics read: one Snapshot event each.
	Snapshots int
	// Skipped is the number of topics not read, as listed in the Resynced
	// event.
	Skipped int
	// Err is why reads failed, as in the Resynced event; nil if none did.
	Err error
}

// CatalogReadInfo is the argument of Trace.CatalogRead.
type CatalogReadInfo struct {
	// Templates is the number of topic templates read; 0 if the read
	// failed.
	Templates int
	// Duration is how long the read took, budget waits and retries
	// included.
	Duration time.Duration
	// Err is why the read failed; nil if it succeeded.
	Err error
}

// The methods below are the client's call sites: each is safe on a nil
// Trace and costs a nil check when its hook is not set.

// attach gives t to the parts of c that call it outside the channels'
// owners: the event buffer, the request budget and the REST client.
func (t *Trace) attach(c *Client) {
	c.out.trace, c.budget.trace = t, t
	if t != nil && t.Request != nil {
		c.api.OnRequest = t.request
	}
}

// channel reports the change of a channel's connection id from prev to
// next, where nil is no connection: up, down, or neither (a handover).
func (t *Trace) channel(prev, next *string) {
	if t == nil || t.Channel == nil || (prev == nil) == (next == nil) {
		return
	}
	if next != nil {
		t.Channel(ChannelInfo{ChannelID: *next, Up: true})
		return
	}
	t.Channel(ChannelInfo{ChannelID: *prev})
}

func (t *Trace) connected(ev Connected) {
	if t == nil || t.Connected == nil {
		return
	}
	t.Connected(ConnectedInfo{
		ChannelID: ev.ChannelID, Reconnect: ev.Reconnect, Gap: ev.Gap,
		Downtime: ev.Downtime, Topics: len(ev.Topics),
	})
}

func (t *Trace) disconnected(channel string, err error, retryIn time.Duration) {
	if t == nil || t.Disconnected == nil {
		return
	}
	t.Disconnected(DisconnectedInfo{ChannelID: channel, Err: err, RetryIn: retryIn})
}

// delivered reports ev if it is a notification.
func (t *Trace) delivered(ev Event) {
	if t == nil || t.Delivered == nil {
		return
	}
	if n, ok := ev.(Notification); ok {
		t.Delivered(DeliveredInfo{Topic: n.Topic})
	}
}

// dropped reports ev if it is a notification.
func (t *Trace) dropped(ev Event) {
	if t == nil || t.Dropped == nil {
		return
	}
	if n, ok := ev.(Notification); ok {
		t.Dropped(DroppedInfo{Topic: n.Topic})
	}
}

// request is the REST client's OnRequest; attach sets it only when
// t.Request is set.
func (t *Trace) request(route string, status int, d time.Duration) {
	t.Request(RequestInfo{Route: route, Status: status, Duration: d})
}

func (t *Trace) budgetWait(d time.Duration) {
	if t == nil || t.BudgetWait == nil {
		return
	}
	t.BudgetWait(BudgetWaitInfo{Wait: d})
}

// resynced reports ev, the end of a resync that took d.
func (t *Trace) resynced(ev Resynced, d time.Duration) {
	if t == nil || t.Resynced == nil {
		return
	}
	t.Resynced(ResyncedInfo{
		ChannelID: ev.ChannelID, Duration: d,
		Snapshots: len(ev.Topics), Skipped: len(ev.Skipped), Err: ev.Err,
	})
}

// catalogRead reports a read of the topic catalog that found templates
// and took d, or failed with err.
func (t *Trace) catalogRead(templates int, d time.Duration, err error) {
	if t == nil || t.CatalogRead == nil {
		return
	}
	t.CatalogRead(CatalogReadInfo{Templates: templates, Duration: d, Err: err})
}
