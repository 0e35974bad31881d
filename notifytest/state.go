package notifytest

import (
	"cmp"
	"crypto/sha1"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The values the state setters accept.
var (
	// systemPresences are the system presences of Genesys Cloud.
	systemPresences = []string{"Available", "Away", "Break", "Busy", "Idle", "Meal", "Meeting", "Offline", "On Queue", "Training"}
	// routingStatuses are the ACD routing statuses.
	routingStatuses = []string{"OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"}
	// conversationMetrics are observed per queue and media type.
	conversationMetrics = []string{"oAlerting", "oInteracting", "oLongestInteracting", "oLongestWaiting", "oWaiting"}
	// agentMetrics are observed per queue.
	agentMetrics = []string{"oActiveUsers", "oMemberUsers", "oOffQueueUsers", "oOnQueueUsers", "oUserPresences", "oUserRoutingStatuses"}
)

// observedMediaType is the media type of the conversation metrics: the
// fake observes voice conversations only.
const observedMediaType = "voice"

// orgState is the state of the fake organization: what the REST readers
// answer and the setters change. It is guarded by Server.mu.
type orgState struct {
	presence map[string]presenceState
	routing  map[string]routingState
	queues   map[string]map[metricKey]int
	calls    map[string][]time.Time // by conversation id: when each stage began, see PublishCall
}

func newOrgState() orgState {
	return orgState{
		presence: make(map[string]presenceState),
		routing:  make(map[string]routingState),
		queues:   make(map[string]map[metricKey]int),
		calls:    make(map[string][]time.Time),
	}
}

type presenceState struct {
	system   string
	modified time.Time
}

type routingState struct {
	status string
	start  time.Time
}

// metricKey names an observed value: a metric and its qualifier, if any.
type metricKey struct {
	metric    string
	qualifier string
}

func (k metricKey) String() string {
	if k.qualifier == "" {
		return k.metric
	}
	return k.metric + ":" + k.qualifier
}

func compareMetricKeys(a, b metricKey) int {
	return cmp.Or(cmp.Compare(a.metric, b.metric), cmp.Compare(a.qualifier, b.qualifier))
}

// nextVersion returns the time of a change after prev: now at the
// millisecond precision of the API, and at least a millisecond after prev,
// so that versions strictly increase as the client sees them.
func nextVersion(prev time.Time) time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(prev) {
		t = prev.Add(time.Millisecond)
	}
	return t
}

// SetPresence sets the user's system presence (one of "Available", "Away",
// "Break", "Busy", "Idle", "Meal", "Meeting", "Offline", "On Queue",
// "Training") with modifiedDate now, and publishes it on
// v2.users.{userID}.presence:
//
//	{"source":"PURECLOUD","presenceDefinition":{"id":"…","systemPresence":"On Queue"},
//	 "primary":true,"message":"","modifiedDate":"2025-03-04T09:12:31.604Z"}
//
// Dates have millisecond precision and strictly increase per user, even
// for calls within one millisecond. The state is kept whether a socket is
// subscribed or not, and is what the presence readers answer. It returns
// the number of sockets the notification reached, as Publish does.
// SetPresence panics if userID is empty or systemPresence unknown.
func (s *Server) SetPresence(userID, systemPresence string) (delivered int) {
	checkValue("SetPresence", "user id", userID, nil)
	checkValue("SetPresence", "system presence", systemPresence, systemPresences)
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.mu.Lock()
	p := presenceState{system: systemPresence, modified: nextVersion(s.presenceLocked(userID).modified)}
	s.org.presence[userID] = p
	s.mu.Unlock()
	_, delivered = s.Publish("v2.users."+userID+".presence", p.userPresence())
	return delivered
}

func (p presenceState) userPresence() userPresenceJSON {
	return userPresenceJSON{
		Source:             presenceSource,
		PresenceDefinition: presenceDefinition(p.system),
		Primary:            true,
		ModifiedDate:       p.modified.Format(timeFormat),
	}
}

// Presence returns the user's system presence and when it was set, as the
// presence readers answer it: "Offline" since the server started for a
// user whose presence was never set.
func (s *Server) Presence(userID string) (systemPresence string, modified time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.presenceLocked(userID)
	return p.system, p.modified
}

func (s *Server) presenceLocked(userID string) presenceState {
	if p, ok := s.org.presence[userID]; ok {
		return p
	}
	return presenceState{system: "Offline", modified: s.started}
}

// SetRoutingStatus sets the user's routing status (one of "OFF_QUEUE",
// "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING") with startTime
// now, and publishes it on v2.users.{userID}.routingStatus:
//
//	{"id":"{userID}","routingStatus":{"status":"INTERACTING","startTime":"2025-03-04T09:12:40.118Z"}}
//
// Start times strictly increase per user as SetPresence's dates do; the
// state is kept as SetPresence's is, and is what the routing status
// readers answer. It returns the number of sockets the notification
// reached. SetRoutingStatus panics if userID is empty or status unknown.
func (s *Server) SetRoutingStatus(userID, status string) (delivered int) {
	checkValue("SetRoutingStatus", "user id", userID, nil)
	checkValue("SetRoutingStatus", "routing status", status, routingStatuses)
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.mu.Lock()
	rs := routingState{status: status, start: nextVersion(s.routingLocked(userID).start)}
	s.org.routing[userID] = rs
	s.mu.Unlock()
	_, delivered = s.Publish("v2.users."+userID+".routingStatus", routingEventJSON{
		ID:            userID,
		RoutingStatus: routingEventStatusJSON{Status: rs.status, StartTime: rs.start.Format(timeFormat)},
	})
	return delivered
}

// RoutingStatus returns the user's routing status and since when, as the
// readers answer it: "OFF_QUEUE" since the server started for a user whose
// status was never set.
func (s *Server) RoutingStatus(userID string) (status string, start time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs := s.routingLocked(userID)
	return rs.status, rs.start
}

func (s *Server) routingLocked(userID string) routingState {
	if rs, ok := s.org.routing[userID]; ok {
		return rs
	}
	return routingState{status: "OFF_QUEUE", start: s.started}
}

// SetQueueObservation sets observed values of the queue and publishes them
// on v2.analytics.queues.{queueID}.observations. A key of counts is a
// metric ("oWaiting") or a metric and its qualifier ("oOnQueueUsers:IDLE",
// the routing status for oOnQueueUsers and oUserRoutingStatuses, the
// presence id for oUserPresences); values not in counts keep theirs. The
// metrics are those of the observation query: the conversation metrics
// oWaiting, oInteracting, oAlerting, oLongestWaiting and
// oLongestInteracting, observed for the media type "voice", and the agent
// metrics oOnQueueUsers, oOffQueueUsers, oActiveUsers, oMemberUsers,
// oUserPresences and oUserRoutingStatuses, observed per queue.
//
// As on Genesys, conversation and agent metrics come in separate
// notifications, each holding only the values set by the call:
//
//	{"group":{"queueId":"{queueID}","mediaType":"voice"},
//	 "data":[{"interval":"2025-03-04T09:12:41.005Z/2025-03-04T09:12:41.005Z",
//	          "metrics":[{"metric":"oWaiting","stats":{"count":3}}]}]}
//	{"group":{"queueId":"{queueID}"},
//	 "data":[{"interval":"…","metrics":[{"metric":"oOnQueueUsers","qualifier":"IDLE","stats":{"count":2}}]}]}
//
// The state is kept as SetPresence's is, and is what the observation
// query answers. It returns the number of frames written, over both
// notifications. SetQueueObservation panics if queueID is empty, a metric
// is unknown or a count negative.
func (s *Server) SetQueueObservation(queueID string, counts map[string]int) (delivered int) {
	checkValue("SetQueueObservation", "queue id", queueID, nil)
	keys := make([]metricKey, 0, len(counts))
	for k, n := range counts {
		metric, qualifier, qualified := strings.Cut(k, ":")
		if !slices.Contains(conversationMetrics, metric) && !slices.Contains(agentMetrics, metric) || qualified && qualifier == "" {
			panic(fmt.Sprintf("notifytest: SetQueueObservation: invalid metric %q", k))
		}
		if n < 0 {
			panic(fmt.Sprintf("notifytest: SetQueueObservation: negative count %d for %s", n, k))
		}
		keys = append(keys, metricKey{metric, qualifier})
	}
	slices.SortFunc(keys, compareMetricKeys)
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.mu.Lock()
	q := s.org.queues[queueID]
	if q == nil {
		q = make(map[metricKey]int)
		s.org.queues[queueID] = q
	}
	for _, k := range keys {
		q[k] = counts[k.String()]
	}
	s.mu.Unlock()

	now := time.Now().UTC().Format(timeFormat)
	interval := now + "/" + now
	topic := "v2.analytics.queues." + queueID + ".observations"
	for _, conversations := range []bool{true, false} {
		var metrics []observationMetricJSON
		for _, k := range keys {
			if slices.Contains(conversationMetrics, k.metric) == conversations {
				metrics = append(metrics, observationMetricJSON{Metric: k.metric, Qualifier: k.qualifier, Stats: statsJSON{Count: counts[k.String()]}})
			}
		}
		if len(metrics) == 0 {
			continue
		}
		_, n := s.Publish(topic, observationEventJSON{
			Group: observationGroup(queueID, conversations),
			Data:  []observationIntervalJSON{{Interval: interval, Metrics: metrics}},
		})
		delivered += n
	}
	return delivered
}

// QueueObservation returns the observed values of the queue that were set,
// keyed as SetQueueObservation's counts: "oWaiting", "oOnQueueUsers:IDLE".
// Values never set are absent; the observation query answers them as 0.
func (s *Server) QueueObservation(queueID string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.org.queues[queueID]))
	for k, n := range s.org.queues[queueID] {
		out[k.String()] = n
	}
	return out
}

// knownUsersLocked returns the users whose presence or routing status was
// set, sorted.
func (s *Server) knownUsersLocked() []string {
	var ids []string
	for id := range s.org.presence {
		ids = append(ids, id)
	}
	for id := range s.org.routing {
		if _, dup := s.org.presence[id]; !dup {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// checkValue panics unless v is non-empty and, if valid is not nil, one of
// valid.
func checkValue(fn, what, v string, valid []string) {
	if v == "" || valid != nil && !slices.Contains(valid, v) {
		panic(fmt.Sprintf("notifytest: %s: invalid %s %q", fn, what, v))
	}
}

// presenceSource is the source of every presence of the fake.
const presenceSource = "PURECLOUD"

// presenceDefinition returns the organization presence of a system
// presence. Its id is a UUID derived from the system presence, the same on
// every server.
func presenceDefinition(system string) presenceDefinitionJSON {
	return presenceDefinitionJSON{ID: nameUUID("notifytest presence " + system), SystemPresence: system}
}

// nameUUID returns a (version 5 style) UUID derived from name: the same
// name gives the same UUID on every server.
func nameUUID(name string) string {
	h := sha1.Sum([]byte(name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func observationGroup(queueID string, conversations bool) observationGroupJSON {
	g := observationGroupJSON{QueueID: queueID}
	if conversations {
		g.MediaType = observedMediaType
	}
	return g
}

// Bodies of the state's notifications and REST answers.
type (
	presenceDefinitionJSON struct {
		ID             string `json:"id"`
		SystemPresence string `json:"systemPresence"`
	}
	// userPresenceJSON is the SDKs' PresenceEventUserPresence, the body of
	// presence notifications, and a part of their UserPresence, the
	// presence of a user of GET /api/v2/users?expand=presence.
	userPresenceJSON struct {
		Source             string                 `json:"source"`
		PresenceDefinition presenceDefinitionJSON `json:"presenceDefinition"`
		Primary            bool                   `json:"primary"`
		Message            string                 `json:"message"`
		ModifiedDate       string                 `json:"modifiedDate"`
	}
	// ucUserPresenceJSON is the SDKs' UcUserPresence.
	ucUserPresenceJSON struct {
		UserID             string                 `json:"userId"`
		Source             string                 `json:"source"`
		PresenceDefinition presenceDefinitionJSON `json:"presenceDefinition"`
		Message            string                 `json:"message"`
		ModifiedDate       string                 `json:"modifiedDate"`
	}
	// routingEventJSON is the SDKs' UserRoutingStatusUserRoutingStatus.
	routingEventJSON struct {
		ID            string                 `json:"id"`
		RoutingStatus routingEventStatusJSON `json:"routingStatus"`
	}
	routingEventStatusJSON struct {
		Status    string `json:"status"`
		StartTime string `json:"startTime"`
	}
	// routingStatusJSON is the SDKs' RoutingStatus.
	routingStatusJSON struct {
		UserID    string `json:"userId"`
		Status    string `json:"status"`
		StartTime string `json:"startTime"`
	}
	observationGroupJSON struct {
		QueueID   string `json:"queueId"`
		MediaType string `json:"mediaType,omitempty"`
	}
	observationMetricJSON struct {
		Metric    string    `json:"metric"`
		Qualifier string    `json:"qualifier,omitempty"`
		Stats     statsJSON `json:"stats"`
	}
	statsJSON struct {
		Count int `json:"count"`
	}
	observationEventJSON struct {
		Group observationGroupJSON      `json:"group"`
		Data  []observationIntervalJSON `json:"data"`
	}
	observationIntervalJSON struct {
		Interval string                  `json:"interval"`
		Metrics  []observationMetricJSON `json:"metrics"`
	}
)

func (s *Server) ucUserPresenceLocked(userID string) ucUserPresenceJSON {
	p := s.presenceLocked(userID)
	return ucUserPresenceJSON{
		UserID:             userID,
		Source:             presenceSource,
		PresenceDefinition: presenceDefinition(p.system),
		ModifiedDate:       p.modified.Format(timeFormat),
	}
}

func (s *Server) routingStatusLocked(userID string) routingStatusJSON {
	rs := s.routingLocked(userID)
	return routingStatusJSON{UserID: userID, Status: rs.status, StartTime: rs.start.Format(timeFormat)}
}
