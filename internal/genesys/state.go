package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A Reader is a set of REST readers of topic state: what reads, after a
// gap, the state that the notifications of a topic would have carried.
// Each constant is one reader; SnapshotKind returns two for the combined
// form v2.users.{id}?presence&routingStatus.
type Reader uint8

const (
	// PresenceReader reads v2.users.{id}.presence: GET
	// /api/v2/users/presences/purecloud/bulk.
	PresenceReader Reader = 1 << iota
	// RoutingStatusReader reads v2.users.{id}.routingStatus: GET
	// /api/v2/users?expand=routingStatus.
	RoutingStatusReader
	// ObservationsReader reads v2.analytics.queues.{id}.observations: POST
	// /api/v2/analytics/queues/observations/query.
	ObservationsReader
)

// The most ids one read of each reader may carry.
const (
	// MaxPresenceIDs is the bulk presence endpoint's documented limit.
	MaxPresenceIDs = 50
	// MaxRoutingStatusIDs is one page of GET /api/v2/users (ASSUMED to
	// accept as many ids as its page size).
	MaxRoutingStatusIDs = 100
	// MaxObservationQueues is the most queueId predicates of one
	// observation query (ASSUMED).
	MaxObservationQueues = 100
)

// ObservationMetrics are the metrics an ObservationsReader asks for: every
// observation the query knows, which are the live metrics the topic
// carries. The topic's 30-minute aggregates (tAnswered, nOffered, …) have
// no reader here.
var ObservationMetrics = []string{
	"oActiveUsers", "oAlerting", "oInteracting", "oMemberUsers", "oOffQueueUsers",
	"oOnQueueUsers", "oUserPresences", "oUserRoutingStatuses", "oWaiting",
}

// ErrTooManyIDs is returned for a read of more ids than its reader's Limit.
var ErrTooManyIDs = errors.New("genesys: too many ids for one state read")

// readers lists the single readers in constant order.
var readers = [...]Reader{PresenceReader, RoutingStatusReader, ObservationsReader}

// Topic suffixes of the readable topics, after their prefix and id.
const (
	usersPrefix    = "v2.users."
	queuesPrefix   = "v2.analytics.queues."
	presenceSuffix = "presence"
	routingSuffix  = "routingStatus"
	observeSuffix  = "observations"
)

// SnapshotKind returns the readers of topic's state and the id of the user
// or queue it names: PresenceReader for v2.users.{id}.presence,
// RoutingStatusReader for v2.users.{id}.routingStatus, ObservationsReader
// for v2.analytics.queues.{id}.observations. A combined topic such as
// v2.users.{id}?presence&routingStatus yields the readers of its parts
// (both here); parts without a reader, such as station, add nothing. ok is
// false if no part of topic has a reader.
func SnapshotKind(topic string) (r Reader, id string, ok bool) {
	base, parts, combined := strings.Cut(topic, "?")
	var prefix string
	switch {
	case strings.HasPrefix(base, usersPrefix):
		prefix = usersPrefix
	case strings.HasPrefix(base, queuesPrefix):
		prefix = queuesPrefix
	default:
		return 0, "", false
	}
	rest := base[len(prefix):]
	if !combined {
		// id.suffix, with an id free of dots.
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			return 0, "", false
		}
		id, parts = rest[:i], rest[i+1:]
	} else {
		id = rest
	}
	if !validID(id) {
		return 0, "", false
	}
	for part := range strings.SplitSeq(parts, "&") {
		r |= partReader(prefix, part)
	}
	if r == 0 {
		return 0, "", false
	}
	return r, id, true
}

// partReader returns the reader of the topic prefix{id}.part.
func partReader(prefix, part string) Reader {
	switch {
	case prefix == usersPrefix && part == presenceSuffix:
		return PresenceReader
	case prefix == usersPrefix && part == routingSuffix:
		return RoutingStatusReader
	case prefix == queuesPrefix && part == observeSuffix:
		return ObservationsReader
	}
	return 0
}

// validID reports whether id can be one segment of a topic.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, ".?& \t\r\n")
}

// Has reports whether r holds every reader of x, and x is not empty.
func (r Reader) Has(x Reader) bool { return x != 0 && r&x == x }

// Split returns the single readers of r, in constant order.
func (r Reader) Split() []Reader {
	var out []Reader
	for _, one := range readers {
		if r.Has(one) {
			out = append(out, one)
		}
	}
	return out
}

// Topics returns, for each reader of r in constant order, the topic whose
// state it reads for id: the topics that a snapshot of id covers, named as
// their notifications are (Genesys delivers the notifications of a
// combined topic under the expanded names).
func (r Reader) Topics(id string) []string {
	var out []string
	for _, one := range r.Split() {
		switch one {
		case PresenceReader:
			out = append(out, usersPrefix+id+"."+presenceSuffix)
		case RoutingStatusReader:
			out = append(out, usersPrefix+id+"."+routingSuffix)
		case ObservationsReader:
			out = append(out, queuesPrefix+id+"."+observeSuffix)
		}
	}
	return out
}

// Limit returns the most ids one ReadState of the single reader r may
// carry, or 0 if r is not a single reader.
func (r Reader) Limit() int {
	switch r {
	case PresenceReader:
		return MaxPresenceIDs
	case RoutingStatusReader:
		return MaxRoutingStatusIDs
	case ObservationsReader:
		return MaxObservationQueues
	}
	return 0
}

// String names the readers of r, such as "presence|routingStatus".
func (r Reader) String() string {
	var names []string
	for _, one := range r.Split() {
		switch one {
		case PresenceReader:
			names = append(names, presenceSuffix)
		case RoutingStatusReader:
			names = append(names, routingSuffix)
		case ObservationsReader:
			names = append(names, observeSuffix)
		}
	}
	if rest := r &^ (PresenceReader | RoutingStatusReader | ObservationsReader); rest != 0 || r == 0 {
		names = append(names, "Reader("+strconv.Itoa(int(r))+")")
	}
	return strings.Join(names, "|")
}

// States is the answer of one ReadState.
type States struct {
	// Bodies holds, per id found, a JSON body in the shape of the
	// notification body of the reader's topic: it decodes into the same
	// type (see ReadState).
	Bodies map[string]json.RawMessage
	// Missing lists, in request order, the ids the answer did not cover,
	// such as deleted users or users without a routing status.
	Missing []string
}

// ReadState reads the state of ids with the single reader r in one
// request. Duplicate ids are read once; no ids is no request. More distinct
// ids than r.Limit() is an error matching ErrTooManyIDs, and a non-2xx
// answer is an *Error. The bodies are:
//
//   - PresenceReader: each element of the answer as it is (the SDKs'
//     UcUserPresence: userId, source, presenceDefinition, message,
//     modifiedDate, …), a superset of the notification body.
//   - RoutingStatusReader: {"id":…,"routingStatus":{…}} built from the
//     user entity; a user whose entity lacks routingStatus (Genesys
//     resolves expand on a best-effort basis) is missing.
//   - ObservationsReader: one body per queue merging every result group of
//     that queue: {"group":{"queueId":…},"data":[…]}, each data entry in the
//     flat form {"metric","qualifier","stats"} of the query with the
//     entry's own result group added as "group" (so the media type of a
//     conversation metric is kept). QueueObservation decodes it; Count sums
//     over the groups.
func (a *API) ReadState(ctx context.Context, r Reader, ids []string) (States, error) {
	limit := r.Limit()
	if limit == 0 {
		return States{}, fmt.Errorf("genesys: ReadState needs a single reader, not %v", r)
	}
	ids = distinct(ids)
	if len(ids) > limit {
		return States{}, fmt.Errorf("%w: %d ids for the %v reader, at most %d", ErrTooManyIDs, len(ids), r, limit)
	}
	if len(ids) == 0 {
		return States{Bodies: map[string]json.RawMessage{}}, nil
	}
	var (
		data []byte
		err  error
	)
	switch r {
	case PresenceReader:
		q := url.Values{"id": ids}
		data, err = a.do(ctx, http.MethodGet, "/api/v2/users/presences/purecloud/bulk?"+q.Encode(), nil)
	case RoutingStatusReader:
		q := url.Values{"id": ids, "expand": {"routingStatus"}, "pageSize": {strconv.Itoa(MaxRoutingStatusIDs)}}
		data, err = a.do(ctx, http.MethodGet, "/api/v2/users?"+q.Encode(), nil)
	case ObservationsReader:
		data, err = a.do(ctx, http.MethodPost, "/api/v2/analytics/queues/observations/query", observationQuery(ids))
	}
	if err != nil {
		return States{}, err
	}
	return parseStates(r, data, ids)
}

// distinct returns ids without repeats, in first-seen order.
func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Query body of the observation query.
type (
	obsQuery struct {
		Filter  obsFilter `json:"filter"`
		Metrics []string  `json:"metrics"`
	}
	obsFilter struct {
		Type       string         `json:"type"`
		Predicates []obsPredicate `json:"predicates"`
	}
	obsPredicate struct {
		Dimension string `json:"dimension"`
		Value     string `json:"value"`
	}
)

func observationQuery(queueIDs []string) obsQuery {
	q := obsQuery{Filter: obsFilter{Type: "or"}, Metrics: ObservationMetrics}
	for _, id := range queueIDs {
		q.Filter.Predicates = append(q.Filter.Predicates, obsPredicate{Dimension: "queueId", Value: id})
	}
	return q
}

// parseStates decodes the answer of reader r to a read of ids.
func parseStates(r Reader, data []byte, ids []string) (States, error) {
	bodies := make(map[string]json.RawMessage, len(ids))
	wanted := make(map[string]bool, len(ids))
	for _, id := range ids {
		wanted[id] = true
	}
	var err error
	switch r {
	case PresenceReader:
		err = parsePresences(data, wanted, bodies)
	case RoutingStatusReader:
		err = parseRoutingStatuses(data, wanted, bodies)
	case ObservationsReader:
		err = parseObservations(data, wanted, bodies)
	}
	if err != nil {
		return States{}, fmt.Errorf("genesys: decoding %v state: %w", r, err)
	}
	s := States{Bodies: bodies}
	for _, id := range ids {
		if _, ok := bodies[id]; !ok {
			s.Missing = append(s.Missing, id)
		}
	}
	return s, nil
}

func parsePresences(data []byte, wanted map[string]bool, bodies map[string]json.RawMessage) error {
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return err
	}
	for _, raw := range list {
		var p struct {
			UserID string `json:"userId"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		if wanted[p.UserID] {
			body, err := compact(raw)
			if err != nil {
				return err
			}
			bodies[p.UserID] = body
		}
	}
	return nil
}

func parseRoutingStatuses(data []byte, wanted map[string]bool, bodies map[string]json.RawMessage) error {
	type entity struct {
		ID            string          `json:"id"`
		RoutingStatus json.RawMessage `json:"routingStatus"`
	}
	var resp struct {
		Entities []entity `json:"entities"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return err
	}
	for _, e := range resp.Entities {
		if !wanted[e.ID] || len(e.RoutingStatus) == 0 || string(e.RoutingStatus) == "null" {
			continue
		}
		body, err := json.Marshal(e)
		if err != nil {
			return err
		}
		bodies[e.ID] = body
	}
	return nil
}

func parseObservations(data []byte, wanted map[string]bool, bodies map[string]json.RawMessage) error {
	var resp struct {
		Results []struct {
			Group json.RawMessage   `json:"group"`
			Data  []json.RawMessage `json:"data"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return err
	}
	type group struct {
		QueueID string `json:"queueId"`
	}
	type body struct {
		Group group             `json:"group"`
		Data  []json.RawMessage `json:"data"`
	}
	merged := map[string]*body{}
	var order []string
	for _, res := range resp.Results {
		var g group
		if len(res.Group) == 0 || string(res.Group) == "null" {
			continue
		}
		if err := json.Unmarshal(res.Group, &g); err != nil {
			return err
		}
		if !wanted[g.QueueID] {
			continue
		}
		b := merged[g.QueueID]
		if b == nil {
			b = &body{Group: g, Data: []json.RawMessage{}}
			merged[g.QueueID] = b
			order = append(order, g.QueueID)
		}
		for _, entry := range res.Data {
			e, err := withGroup(entry, res.Group)
			if err != nil {
				return err
			}
			if e != nil {
				b.Data = append(b.Data, e)
			}
		}
	}
	for _, id := range order {
		out, err := json.Marshal(merged[id])
		if err != nil {
			return err
		}
		bodies[id] = out
	}
	return nil
}

// withGroup returns the object entry with the member "group":group added
// in front, or nil for an empty object.
func withGroup(entry, group json.RawMessage) (json.RawMessage, error) {
	e := bytes.TrimSpace(entry)
	if len(e) == 0 || e[0] != '{' {
		return nil, errors.New("observation data entry is not an object")
	}
	inner := bytes.TrimSpace(e[1:])
	if len(inner) > 0 && inner[0] == '}' {
		return nil, nil
	}
	out := make([]byte, 0, len(e)+len(group)+10)
	out = append(out, `{"group":`...)
	out = append(out, group...)
	out = append(out, ',')
	out = append(out, inner...)
	return out, nil
}

// compact returns raw without insignificant space, in new memory.
func compact(raw json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
