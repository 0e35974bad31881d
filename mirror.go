package notify

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gcnotify/notify/internal/jsonscan"
)

// A Mirror keeps the latest known state of the presence, routing-status
// and queue-observation topics of a stream. Feed it every event in stream
// order with Apply; read it from any goroutine. After every Snapshot of a
// resynchronization has been applied, it holds the server's state, however
// the snapshots and the notifications around them interleave.
//
// What it keeps, per kind of topic:
//
//   - v2.users.{id}.presence (Presence): the body with the latest
//     modifiedDate.
//   - v2.users.{id}.routingStatus (RoutingStatus): the body with the latest
//     routingStatus.startTime.
//   - v2.analytics.queues.{id}.observations (QueueObservation): each
//     metric of each group (conversation metrics per media type, agent
//     metrics on their own), from the latest body that carried it.
//     Observation bodies have no version, so the latest is the one read
//     last: by Notification.Received and Snapshot.Taken. A notification
//     updates only the metrics it carries (Genesys may leave out those
//     that did not change); a Snapshot replaces every metric of the
//     queue that was not read after it.
//
// So an event older than a snapshot never overwrites it, and a snapshot
// older than an event never does either. Ties go to the body applied last.
// A body without a version (or an unreadable one) is ordered against the
// stored body by the time it was read instead, and when either time is
// zero, by the order of Apply.
//
// Every other topic is ignored, conversations included: a conversations
// topic carries many conversations, one per notification, so its latest
// body is not the state of anything; keep conversations by id yourself
// (Decode into Conversation). Notifications of a combined topic arrive
// under the expanded names (v2.users.{id}.presence, …) and are kept.
//
// A Mirror is safe for concurrent use. The zero Mirror is ready to use.
type Mirror struct {
	mu     sync.Mutex
	topics map[string]*mirrored
}

// NewMirror returns an empty Mirror.
func NewMirror() *Mirror { return &Mirror{} }

// mirrorKind is the kind of a topic the Mirror keeps.
type mirrorKind uint8

const (
	notMirrored mirrorKind = iota
	mirrorPresence
	mirrorRouting
	mirrorObservations
)

// mirrored is the state of one topic.
type mirrored struct {
	kind mirrorKind
	// body is the state's JSON. For observations it is encoded from obs
	// when read, and nil until then.
	body    []byte
	state   bodyState // presence and routing status: body's version and state
	at      time.Time // when body was read; zero if unknown
	obs     []obsEntry
	queueID string // observations: the topic's id
}

// obsEntry is one metric value of an observation topic.
type obsEntry struct {
	media     string    // the group's mediaType; "" for agent metrics
	metric    string    // such as "oWaiting"
	qualifier string    // such as "IDLE" for oOnQueueUsers; often ""
	at        time.Time // when it was read; zero if unknown
	// raw is the entry in the flat form of the observation query, with
	// its group: {"group":{…},"interval":…,"metric":…,"qualifier":…,"stats":{…}}.
	raw   []byte
	stats []byte // the value of raw's stats; nil if it has none
}

// Apply applies ev if it is a Notification or a Snapshot of a topic the
// Mirror keeps, and reports whether the state changed: for the first body
// of a topic; for a presence, a new system presence, presence definition
// id or message, or a newer modifiedDate; for a routing status, a new
// status or a newer startTime; for queue observations, a metric whose
// stats changed, or one that came or went. Other differences between
// bodies do not count: a Snapshot of the state the Mirror holds reports
// false, although its body has fields the notifications lack (userId) or
// lacks some they have (primary, the interval of observations). Other
// events, other topics, bodies that are not a JSON object, and bodies
// older than the state are ignored (false). Apply does not retain ev's
// Body.
func (m *Mirror) Apply(ev Event) bool {
	b, ok := payloadOf(ev)
	if !ok {
		return false
	}
	topic, body, at := b.topic, b.body, b.at
	switch kind := mirrorKindOf(topic); kind {
	case mirrorPresence, mirrorRouting:
		st, ok := readState(kind, body)
		if !ok {
			return false
		}
		return m.applyVersioned(kind, topic, body, st, at)
	case mirrorObservations:
		entries, ok := observationEntries(body, at)
		if !ok {
			return false
		}
		return m.applyObservations(topic, entries, at, b.snapshot)
	}
	return false
}

// newer reports whether an update with version v read at at may replace
// the state with version sv read at sat: by version when both have one,
// else by read time when both are known, else yes, by the order of Apply.
// Ties replace.
func newer(v, at, sv, sat time.Time) bool {
	if !v.IsZero() && !sv.IsZero() {
		return !v.Before(sv)
	}
	if !at.IsZero() && !sat.IsZero() {
		return !at.Before(sat)
	}
	return true
}

// applyVersioned stores body, whose state is st, unless the stored body
// is newer, and reports whether the state or its version changed. A body
// of the same state and version still replaces the stored one (the later
// Apply wins), but changes nothing.
func (m *Mirror) applyVersioned(kind mirrorKind, topic string, body []byte, st bodyState, at time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.topics[topic]
	changed := true
	if s == nil {
		if m.topics == nil {
			m.topics = make(map[string]*mirrored)
		}
		s = &mirrored{kind: kind}
		m.topics[topic] = s
	} else {
		if !newer(st.version, at, s.state.version, s.at) {
			return false
		}
		changed = !st.same(body, s.state, s.body)
	}
	// Readers copy under the lock, so the buffer can be reused.
	s.body = append(s.body[:0], body...)
	s.state, s.at = st, at
	return changed
}

func (m *Mirror) applyObservations(topic string, upd []obsEntry, at time.Time, snapshot bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.topics[topic]
	if s == nil {
		// A notification without metrics tells nothing; a snapshot
		// without metrics says there are none.
		if !snapshot && len(upd) == 0 {
			return false
		}
		if m.topics == nil {
			m.topics = make(map[string]*mirrored)
		}
		id, _ := TopicID(topic)
		m.topics[topic] = &mirrored{kind: mirrorObservations, queueID: id, obs: upd}
		return true
	}
	// Entries are few (a queue has a dozen metrics or so): linear scans
	// beat maps here.
	out := make([]obsEntry, 0, len(s.obs)+len(upd))
	if snapshot {
		// Keep only what was read after the snapshot; take the rest
		// from it.
		for _, e := range s.obs {
			if !newer(time.Time{}, at, time.Time{}, e.at) {
				out = append(out, e)
			}
		}
		kept := len(out)
		for _, e := range upd {
			if !hasKey(out[:kept], e.key()) {
				out = append(out, e)
			}
		}
	} else {
		// Replace the metrics the notification carries, unless the state
		// of one was read after it.
		blocked := func(k obsKey) bool {
			for _, e := range s.obs {
				if e.key() == k && !newer(time.Time{}, at, time.Time{}, e.at) {
					return true
				}
			}
			return false
		}
		for _, e := range s.obs {
			if !hasKey(upd, e.key()) || blocked(e.key()) {
				out = append(out, e)
			}
		}
		for _, e := range upd {
			if !blocked(e.key()) {
				out = append(out, e)
			}
		}
	}
	if sameValues(s.obs, out) {
		s.obs = out // same values; keep the newer read times
		return false
	}
	s.obs, s.body = out, nil
	return true
}

type obsKey struct{ media, metric string }

func (e obsEntry) key() obsKey { return obsKey{e.media, e.metric} }

func hasKey(entries []obsEntry, k obsKey) bool {
	for _, e := range entries {
		if e.key() == k {
			return true
		}
	}
	return false
}

// sameValues reports whether a and b hold the same values: the same
// metrics, each with the same stats, in any order. Intervals and read
// times do not count.
func sameValues(a, b []obsEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y obsEntry) bool {
			return x.media == y.media && x.metric == y.metric && x.qualifier == y.qualifier && sameStats(x.stats, y.stats)
		}) {
			return false
		}
	}
	return true
}

// sameStats reports whether the stats objects a and b have the same
// members with the same numbers, in any order and whatever their form (3,
// 3.0).
func sameStats(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	return statsSubset(a, b) && statsSubset(b, a)
}

// statsSubset reports whether every member of the stats object a is in b
// with the same value.
func statsSubset(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 || a[0] != '{' || b[0] != '{' {
		return len(a) == 0 && len(b) == 0
	}
	ai := jsonscan.Members(a, 0, 1)
	for ai.Next() {
		found := false
		bi := jsonscan.Members(b, 0, 1)
		for bi.Next() {
			if bytes.Equal(ai.Key(), bi.Key()) {
				found = sameNumber(ai.Value(), bi.Value()) // the last one counts
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sameNumber reports whether two raw JSON values are equal, numbers by
// value.
func sameNumber(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	x, errx := strconv.ParseFloat(string(a), 64)
	y, erry := strconv.ParseFloat(string(b), 64)
	return errx == nil && erry == nil && x == y
}

// Body returns a copy of the state of topic: a JSON body that decodes into
// the type of the topic's notifications. For an observation topic it is
// the merged form {"group":{"queueId":…},"data":[…]} whose data entries
// are single metrics, each with its own group, as the snapshots of
// WithSnapshots carry them. ok is false if the Mirror holds nothing for
// topic.
func (m *Mirror) Body(topic string) (json.RawMessage, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.topics[topic]
	if s == nil {
		return nil, false
	}
	if s.kind == mirrorObservations && s.body == nil {
		s.body = encodeObservations(s.queueID, s.obs)
	}
	return bytes.Clone(s.body), true
}

// Presence returns the presence of user userID, from the topic
// UserPresenceTopic(userID). ok is false if the Mirror holds nothing for
// it or its body does not decode.
func (m *Mirror) Presence(userID string) (UserPresence, bool) {
	return mirrorGet[UserPresence](m, UserPresenceTopic(userID))
}

// RoutingStatus returns the routing status of user userID, from the topic
// UserRoutingStatusTopic(userID). ok is false if the Mirror holds nothing
// for it or its body does not decode.
func (m *Mirror) RoutingStatus(userID string) (UserRoutingStatus, bool) {
	return mirrorGet[UserRoutingStatus](m, UserRoutingStatusTopic(userID))
}

// QueueObservation returns the observations of queue queueID, from the
// topic QueueObservationsTopic(queueID): every metric the Mirror holds,
// one per Data entry, with Group naming the queue alone (Count sums over
// media types; Body keeps each entry's group). ok is false if the Mirror
// holds nothing for it.
func (m *Mirror) QueueObservation(queueID string) (QueueObservation, bool) {
	return mirrorGet[QueueObservation](m, QueueObservationsTopic(queueID))
}

func mirrorGet[T any](m *Mirror, topic string) (T, bool) {
	var v T
	body, ok := m.Body(topic)
	if !ok || json.Unmarshal(body, &v) != nil {
		return v, false
	}
	return v, true
}

// Topics returns the topics the Mirror holds state for, sorted.
func (m *Mirror) Topics() []string {
	m.mu.Lock()
	topics := make([]string, 0, len(m.topics))
	for t := range m.topics {
		topics = append(topics, t)
	}
	m.mu.Unlock()
	slices.Sort(topics)
	return topics
}

// Forget drops the state of topics, such as topics just unsubscribed.
func (m *Mirror) Forget(topics ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range topics {
		delete(m.topics, t)
	}
}

// mirrorKindOf classifies topic. The id must be one non-empty segment.
func mirrorKindOf(topic string) mirrorKind {
	if rest, ok := strings.CutPrefix(topic, "v2.users."); ok {
		if id, ok := strings.CutSuffix(rest, ".presence"); ok && oneSegment(id) {
			return mirrorPresence
		}
		if id, ok := strings.CutSuffix(rest, ".routingStatus"); ok && oneSegment(id) {
			return mirrorRouting
		}
		return notMirrored
	}
	if rest, ok := strings.CutPrefix(topic, "v2.analytics.queues."); ok {
		if id, ok := strings.CutSuffix(rest, ".observations"); ok && oneSegment(id) {
			return mirrorObservations
		}
	}
	return notMirrored
}

func oneSegment(id string) bool {
	return id != "" && !strings.ContainsAny(id, ".?&")
}

// bodyState is what Apply compares of a presence or routing-status body:
// its version, and where in the body the values of its state are.
type bodyState struct {
	version time.Time // zero if the body has none
	// values are the spans of the raw JSON values of the state, zero where
	// absent: for a presence presenceDefinition.systemPresence,
	// presenceDefinition.id and message; for a routing status
	// routingStatus.status.
	values [3]span
}

// span is a part of a body, body[start:end].
type span struct{ start, end int }

func (sp span) of(body []byte) []byte { return body[sp.start:sp.end] }

// same reports whether st of body and old of oldBody have the same version
// and the same state. Strings are compared as encoding/json decodes them;
// an absent value or null is "".
func (st bodyState) same(body []byte, old bodyState, oldBody []byte) bool {
	if !st.version.Equal(old.version) {
		return false
	}
	for i := range st.values {
		a, b := st.values[i].of(body), old.values[i].of(oldBody)
		if bytes.Equal(a, b) {
			continue
		}
		as, aok := jsonString(a)
		bs, bok := jsonString(b)
		if !aok || !bok || !bytes.Equal(as, bs) {
			return false
		}
	}
	return true
}

// jsonString returns the string the raw JSON value v decodes into: "" for
// nothing or null. ok is false if v is another kind of value.
func jsonString(v []byte) (s []byte, ok bool) {
	if len(v) == 0 || v[0] == 'n' {
		return nil, true
	}
	if v[0] != '"' {
		return nil, false
	}
	return jsonscan.Unquote(v)
}

// readState returns the version and state of a presence or routing-status
// body, and whether body is one valid JSON object. It scans the body once,
// without decoding it, and reads what encoding/json would: keys match
// without regard to case, the last of repeated keys wins, null leaves a
// value as it was, and a repeated object merges into the first.
func readState(kind mirrorKind, body []byte) (bodyState, bool) {
	var st bodyState
	it := jsonscan.Members(body, 0, 1)
	for it.Next() {
		k, val := it.Key(), it.Value()
		switch {
		case kind == mirrorPresence && keyIs(k, "modifiedDate"):
			st.version = parseTime(val, st.version)
		case kind == mirrorPresence && keyIs(k, "message"):
			st.values[2] = valueSpan(&it, st.values[2])
		case kind == mirrorPresence && keyIs(k, "presenceDefinition") && val[0] == '{':
			dit := jsonscan.Members(body, it.ValueOffset(), 2)
			for dit.Next() {
				switch {
				case keyIs(dit.Key(), "systemPresence"):
					st.values[0] = valueSpan(&dit, st.values[0])
				case keyIs(dit.Key(), "id"):
					st.values[1] = valueSpan(&dit, st.values[1])
				}
			}
		case kind == mirrorRouting && keyIs(k, "routingStatus") && val[0] == '{':
			rit := jsonscan.Members(body, it.ValueOffset(), 2)
			for rit.Next() {
				switch {
				case keyIs(rit.Key(), "startTime"):
					st.version = parseTime(rit.Value(), st.version)
				case keyIs(rit.Key(), "status"):
					st.values[0] = valueSpan(&rit, st.values[0])
				}
			}
		}
	}
	if it.Err() != nil || jsonscan.SkipSpace(body, it.End()) != len(body) {
		return bodyState{}, false
	}
	return st, true
}

// valueSpan returns the span of it's current value, or prev if it is
// null.
func valueSpan(it *jsonscan.Iter, prev span) span {
	if v := it.Value(); v[0] == 'n' {
		return prev
	}
	return span{it.ValueOffset(), it.ValueOffset() + len(it.Value())}
}

// keyIs reports whether the raw key token matches name as encoding/json
// matches object keys to field names.
func keyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	key, ok := jsonscan.Unquote(raw)
	return ok && jsonscan.EqualFold(key, name)
}

// parseTime reads a JSON string holding an RFC 3339 time. Like
// encoding/json, it leaves the previous value prev for null; anything else
// is no time.
func parseTime(value []byte, prev time.Time) time.Time {
	if len(value) > 0 && value[0] == 'n' {
		return prev
	}
	if len(value) < 2 || value[0] != '"' {
		return time.Time{}
	}
	s, ok := jsonscan.Unquote(value)
	if !ok {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, string(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

// observationEntries returns the metric entries of an observation body, in
// any of its forms: a notification ({"group","data":[{"interval",
// "metrics":[…]}]}), the flat form of the query ({"group","data":[{"metric",
// …}]}), or the merged form of a snapshot, whose flat entries carry their
// own group. ok is false if body is not a valid JSON object.
func observationEntries(body []byte, at time.Time) ([]obsEntry, bool) {
	var group, data []byte
	it := jsonscan.Members(body, 0, 1)
	for it.Next() {
		switch {
		case keyIs(it.Key(), "group"):
			group = it.Value()
		case keyIs(it.Key(), "data"):
			data = it.Value()
		}
	}
	if it.Err() != nil || jsonscan.SkipSpace(body, it.End()) != len(body) {
		return nil, false
	}
	var entries []obsEntry
	eachElement(data, 2, func(d []byte) {
		if d[0] != '{' {
			return
		}
		g, interval, metrics, flat := group, []byte(nil), []byte(nil), false
		dit := jsonscan.Members(d, 0, 3)
		for dit.Next() {
			switch k := dit.Key(); {
			case keyIs(k, "group"):
				g = dit.Value()
			case keyIs(k, "interval"):
				interval = dit.Value()
			case keyIs(k, "metrics"):
				metrics = dit.Value()
			case keyIs(k, "metric"):
				flat = true
			}
		}
		if flat {
			entries = appendEntry(entries, g, interval, d, at)
		}
		eachElement(metrics, 4, func(mv []byte) {
			if mv[0] == '{' {
				entries = appendEntry(entries, g, interval, mv, at)
			}
		})
	})
	return entries, true
}

// eachElement calls f with each element of the valid JSON array arr, at
// nesting depth depth; anything but an array calls nothing.
func eachElement(arr []byte, depth int, f func(v []byte)) {
	if len(arr) == 0 || arr[0] != '[' {
		return
	}
	i := jsonscan.SkipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return
	}
	for i < len(arr) {
		end, err := jsonscan.SkipValue(arr, i, depth)
		if err != nil {
			return
		}
		i = jsonscan.SkipSpace(arr, i)
		f(arr[i:end])
		i = jsonscan.SkipSpace(arr, end)
		if i >= len(arr) || arr[i] != ',' {
			return
		}
		i++
	}
}

// appendEntry appends the metric object obj, with its group and interval,
// as a flat entry.
func appendEntry(entries []obsEntry, group, interval, obj []byte, at time.Time) []obsEntry {
	if group == nil || group[0] != '{' {
		group = []byte("{}")
	}
	e := obsEntry{at: at}
	gi := jsonscan.Members(group, 0, 1)
	for gi.Next() {
		if keyIs(gi.Key(), "mediaType") {
			if s, ok := jsonscan.Unquote(gi.Value()); ok {
				e.media = string(s)
			}
		}
	}
	raw := make([]byte, 0, len(group)+len(interval)+len(obj)+24)
	raw = append(raw, `{"group":`...)
	raw = append(raw, group...)
	if interval != nil {
		raw = append(raw, `,"interval":`...)
		raw = append(raw, interval...)
	}
	it := jsonscan.Members(obj, 0, 1)
	for it.Next() {
		k := it.Key()
		if keyIs(k, "group") || keyIs(k, "interval") || keyIs(k, "metrics") {
			continue
		}
		raw = append(raw, ',')
		raw = append(raw, k...)
		raw = append(raw, ':')
		raw = append(raw, it.Value()...)
	}
	raw = append(raw, '}')
	if bytes.ContainsAny(raw, " \t\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			raw = buf.Bytes()
		}
	}
	e.raw = raw
	ri := jsonscan.Members(raw, 0, 1)
	for ri.Next() {
		switch k := ri.Key(); {
		case keyIs(k, "metric"):
			e.metric = jsonscan.UnquoteString(ri.Value())
		case keyIs(k, "qualifier"):
			e.qualifier = jsonscan.UnquoteString(ri.Value())
		case keyIs(k, "stats"):
			e.stats = ri.Value()
		}
	}
	if e.metric == "" {
		return entries
	}
	return append(entries, e)
}

// encodeObservations builds the merged body of an observation topic.
func encodeObservations(queueID string, entries []obsEntry) []byte {
	id, _ := json.Marshal(queueID)
	b := append([]byte(`{"group":{"queueId":`), id...)
	b = append(b, `},"data":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.raw...)
	}
	return append(b, "]}"...)
}
