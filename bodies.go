package notify

import (
	"encoding/json"
	"time"
)

// Typed bodies of the most used Genesys Cloud topics, for Decode. They hold
// the commonly used fields of the schemas that the Genesys platform SDKs
// generate for these topics; fields Genesys adds later are ignored, fields
// it leaves out keep their zero value (a zero time.Time for an absent
// time). Values Genesys documents as enumerations stay strings.

// UserPresence is the body of a v2.users.{id}.presence notification
// (UserPresenceTopic; Genesys schema PresenceEventUserPresence):
//
//	{"source":"PURECLOUD","presenceDefinition":{"id":"e08eaf1b-…","systemPresence":"On Queue"},
//	 "message":"","modifiedDate":"2025-03-04T09:12:31.604Z"}
//
// It does not name the user: TopicID of the notification's Topic does. The
// REST answer of GET /api/v2/users/{id}/presences/purecloud decodes into it
// too.
type UserPresence struct {
	// Source is where the presence was set, such as "PURECLOUD".
	Source string `json:"source,omitempty"`
	// PresenceDefinition is the presence the user is in.
	PresenceDefinition PresenceDefinition `json:"presenceDefinition"`
	// Primary reports whether Source is the user's primary presence source.
	Primary bool `json:"primary,omitempty"`
	// Message is the user's status message, often empty.
	Message string `json:"message,omitempty"`
	// ModifiedDate is when the presence was set.
	ModifiedDate time.Time `json:"modifiedDate,omitzero"`
}

// PresenceDefinition names a presence of the organization.
type PresenceDefinition struct {
	// ID is the organization presence id; organizations can define several
	// presences (and labels) for one system presence.
	ID string `json:"id,omitempty"`
	// SystemPresence is the system presence behind it: "Available",
	// "On Queue", "Busy", "Away", "Break", "Meal", "Meeting", "Training",
	// "Idle" or "Offline".
	SystemPresence string `json:"systemPresence,omitempty"`
}

// UserRoutingStatus is the body of a v2.users.{id}.routingStatus
// notification (UserRoutingStatusTopic; Genesys schema
// UserRoutingStatusUserRoutingStatus):
//
//	{"id":"3b5e0f7a-…","routingStatus":{"status":"INTERACTING","startTime":"2025-03-04T09:12:40.118Z"}}
type UserRoutingStatus struct {
	// ID is the user's id. Older bodies leave it out: TopicID of the
	// notification's Topic always names the user.
	ID string `json:"id,omitempty"`
	// RoutingStatus is the user's routing status and since when.
	RoutingStatus RoutingStatus `json:"routingStatus"`
}

// RoutingStatus is an agent's ACD routing status. The REST answer of
// GET /api/v2/users/{id}/routingstatus decodes into it.
type RoutingStatus struct {
	// Status is "OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING" or
	// "COMMUNICATING".
	Status string `json:"status,omitempty"`
	// StartTime is when the agent went into Status.
	StartTime time.Time `json:"startTime,omitzero"`
}

// Conversation is the body of v2.users.{id}.conversations and
// v2.routing.queues.{id}.conversations notifications
// (UserConversationsTopic, QueueConversationsTopic; Genesys schemas
// ConversationEventTopicConversation and
// QueueConversationEventTopicConversation, which share these fields). Each
// notification carries the whole conversation as it is now: every
// participant, with the communications (calls, chats, emails, …) each has
// had.
type Conversation struct {
	// ID is the conversation id.
	ID string `json:"id"`
	// MaxParticipants is the largest number of participants the
	// conversation may have.
	MaxParticipants int `json:"maxParticipants,omitempty"`
	// Participants are all the participants so far, in the order they
	// joined, including those that left.
	Participants []Participant `json:"participants,omitempty"`
	// RecordingState is "ACTIVE", "PAUSED" or "NONE".
	RecordingState string `json:"recordingState,omitempty"`
	// Address is the conversation's address, such as the dialled number.
	Address string `json:"address,omitempty"`
	// ExternalTag is a tag set by an external system.
	ExternalTag string `json:"externalTag,omitempty"`
}

// Participant is one party of a Conversation.
type Participant struct {
	// ID is the participant id, unique within the conversation.
	ID string `json:"id"`
	// Name is a human-readable name, such as the caller's or the queue's.
	Name string `json:"name,omitempty"`
	// Purpose is the participant's role: "customer", "external", "acd"
	// (a queue), "agent" (a user routed by a queue), "user" (a user not
	// routed by a queue), "ivr", "workflow", "voicemail", …
	Purpose string `json:"purpose,omitempty"`
	// UserID is the user's id, for a user participant.
	UserID string `json:"userId,omitempty"`
	// QueueID is the queue the communication came in on, if any.
	QueueID string `json:"queueId,omitempty"`
	// ExternalContactID is the external contact's id, if known.
	ExternalContactID string `json:"externalContactId,omitempty"`
	// Address is the participant's address; for a call, the ANI.
	Address string `json:"address,omitempty"`
	// ConnectedTime is when the participant was connected.
	ConnectedTime time.Time `json:"connectedTime,omitzero"`
	// EndTime is when the participant left; zero while it takes part.
	EndTime time.Time `json:"endTime,omitzero"`
	// WrapupRequired reports whether the participant must enter a wrap-up.
	WrapupRequired bool `json:"wrapupRequired,omitempty"`
	// Wrapup is the wrap-up the participant entered, if any.
	Wrapup *Wrapup `json:"wrapup,omitempty"`
	// StartAcwTime and EndAcwTime bound the participant's after-call work.
	StartAcwTime time.Time `json:"startAcwTime,omitzero"`
	EndAcwTime   time.Time `json:"endAcwTime,omitzero"`
	// AlertingTimeoutMs is how long an agent has to answer before being
	// marked not responding, in milliseconds.
	AlertingTimeoutMs int `json:"alertingTimeoutMs,omitempty"`
	// Attributes are the participant data set by flows and scripts.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Calls, Callbacks, Chats, Emails and Messages are the participant's
	// communications of each media type.
	Calls     []Communication `json:"calls,omitempty"`
	Callbacks []Communication `json:"callbacks,omitempty"`
	Chats     []Communication `json:"chats,omitempty"`
	Emails    []Communication `json:"emails,omitempty"`
	Messages  []Communication `json:"messages,omitempty"`
}

// Communication is one communication of a participant: a call, callback,
// chat, email or message. The fields common to all media come first; the
// others are left zero by the media types that lack them.
type Communication struct {
	// ID is the communication id.
	ID string `json:"id"`
	// State is "alerting", "dialing", "contacting", "offering",
	// "connected", "disconnected", "terminated", …
	State string `json:"state,omitempty"`
	// InitialState is the state the communication started in.
	InitialState string `json:"initialState,omitempty"`
	// Direction is "inbound" or "outbound".
	Direction string `json:"direction,omitempty"`
	// Held reports whether the communication is on hold.
	Held bool `json:"held,omitempty"`
	// DisconnectType says what ended the communication, such as "client",
	// "endpoint", "peer" or "transfer"; empty until it ends.
	DisconnectType string `json:"disconnectType,omitempty"`
	// ConnectedTime is when the communication was connected.
	ConnectedTime time.Time `json:"connectedTime,omitzero"`
	// DisconnectedTime is when it ended; zero until then.
	DisconnectedTime time.Time `json:"disconnectedTime,omitzero"`
	// Provider is the source provider, such as "Edge" for calls.
	Provider string `json:"provider,omitempty"`
	// PeerID is the id of the matching communication on the other leg.
	PeerID string `json:"peerId,omitempty"`

	// Recording and Muted are set on calls.
	Recording bool `json:"recording,omitempty"`
	Muted     bool `json:"muted,omitempty"`
	// Self and Other are the two ends of a call.
	Self  *Address `json:"self,omitempty"`
	Other *Address `json:"other,omitempty"`
	// Subject is the subject of an email.
	Subject string `json:"subject,omitempty"`
	// Type is the kind of a message, such as "sms" or "webmessaging".
	Type string `json:"type,omitempty"`
}

// Address is a call endpoint's name and address.
type Address struct {
	Name               string `json:"name,omitempty"`
	NameRaw            string `json:"nameRaw,omitempty"`
	AddressNormalized  string `json:"addressNormalized,omitempty"` // such as "tel:+13175550123"
	AddressRaw         string `json:"addressRaw,omitempty"`
	AddressDisplayable string `json:"addressDisplayable,omitempty"`
}

// Wrapup is the wrap-up (disposition) a participant entered.
type Wrapup struct {
	Code            string    `json:"code,omitempty"` // the wrap-up code
	Notes           string    `json:"notes,omitempty"`
	Tags            []string  `json:"tags,omitempty"`
	DurationSeconds int       `json:"durationSeconds,omitempty"`
	EndTime         time.Time `json:"endTime,omitzero"`
}

// Communications returns all of p's communications: its calls, callbacks,
// chats, emails and messages, in that order.
func (p Participant) Communications() []Communication {
	all := make([]Communication, 0, len(p.Calls)+len(p.Callbacks)+len(p.Chats)+len(p.Emails)+len(p.Messages))
	for _, media := range [][]Communication{p.Calls, p.Callbacks, p.Chats, p.Emails, p.Messages} {
		all = append(all, media...)
	}
	return all
}

// ended reports whether a communication state is final.
func ended(state string) bool {
	return state == "disconnected" || state == "terminated"
}

// State returns the state of p's current communication: the last one that
// is not disconnected or terminated, or else the state of its last
// communication. It is empty if p has no communication.
func (p Participant) State() string {
	all := p.Communications()
	for i := len(all) - 1; i >= 0; i-- {
		if !ended(all[i].State) {
			return all[i].State
		}
	}
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1].State
}

// Ended reports whether the conversation is over: it has participants and
// every communication of every participant is disconnected or terminated.
// After-call work may still follow.
func (c Conversation) Ended() bool {
	if len(c.Participants) == 0 {
		return false
	}
	for _, p := range c.Participants {
		for _, m := range p.Communications() {
			if !ended(m.State) {
				return false
			}
		}
	}
	return true
}

// UserParticipant returns the last participant of c that is the user
// userID (a user who was transferred away and back has several), and
// whether there is one.
func (c Conversation) UserParticipant(userID string) (Participant, bool) {
	for i := len(c.Participants) - 1; i >= 0; i-- {
		if c.Participants[i].UserID == userID {
			return c.Participants[i], true
		}
	}
	return Participant{}, false
}

// QueueObservation is the body of a v2.analytics.queues.{id}.observations
// notification (QueueObservationsTopic; Genesys schema
// StatsNotificationNotification). Observations of conversations are
// grouped by queue and media type, those of agents by queue alone; the
// topic also carries 30-minute aggregates (tAnswered, nOffered, …) in the
// same shape, with an interval of 30 minutes:
//
//	{"group":{"queueId":"fd17…","mediaType":"voice"},
//	 "data":[{"interval":"2025-03-04T09:12:41.005Z/2025-03-04T09:12:41.005Z",
//	          "metrics":[{"metric":"oWaiting","stats":{"count":3}},
//	                     {"metric":"oInteracting","stats":{"count":5}}]}]}
//
// A notification may hold only the metrics that changed: Count reports
// whether a metric is present. The results of the REST observation query
// (POST /api/v2/analytics/queues/observations/query) decode into
// QueueObservation too: see ObservationData.
type QueueObservation struct {
	// Group says what the metrics describe.
	Group ObservationGroup `json:"group"`
	// Data holds the metrics by interval.
	Data []ObservationData `json:"data,omitempty"`
}

// ObservationGroup is the group of a QueueObservation.
type ObservationGroup struct {
	// QueueID is the queue's id.
	QueueID string `json:"queueId,omitempty"`
	// MediaType is "voice", "chat", "email", "callback", "message", …;
	// empty for agent metrics such as oOnQueueUsers.
	MediaType string `json:"mediaType,omitempty"`
}

// ObservationData is the metrics of one interval of a QueueObservation.
//
// When decoding, an entry in the flat form of the REST observation query,
// {"metric":"oWaiting","qualifier":…,"stats":{"count":3}}, is read as an
// ObservationData holding that one metric.
type ObservationData struct {
	// Interval is an ISO-8601 interval, "start/end": the same instant twice
	// for observations, a 30-minute span for aggregates.
	Interval string `json:"interval,omitempty"`
	// Metrics are the metrics of the interval.
	Metrics []ObservationMetric `json:"metrics,omitempty"`
}

// UnmarshalJSON decodes either form of an ObservationData.
func (d *ObservationData) UnmarshalJSON(b []byte) error {
	var v struct {
		Interval string              `json:"interval"`
		Metrics  []ObservationMetric `json:"metrics"`
		ObservationMetric
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = ObservationData{Interval: v.Interval, Metrics: v.Metrics}
	if v.Metric != "" {
		d.Metrics = append(d.Metrics, v.ObservationMetric)
	}
	return nil
}

// ObservationMetric is one metric value of a QueueObservation.
type ObservationMetric struct {
	// Metric is the metric's name, such as "oWaiting" (conversations
	// waiting in the queue), "oInteracting" (conversations connected to an
	// agent), "oAlerting", "oOnQueueUsers" (agents on queue, by routing
	// status), "oOffQueueUsers", "oActiveUsers", "oMemberUsers",
	// "oUserPresences", "oUserRoutingStatuses".
	Metric string `json:"metric"`
	// Qualifier splits a metric: the routing status for oOnQueueUsers and
	// oUserRoutingStatuses, the presence id for oUserPresences; empty
	// otherwise.
	Qualifier string `json:"qualifier,omitempty"`
	// Stats are the metric's values.
	Stats ObservationStats `json:"stats"`
}

// ObservationStats are the values of a metric. Observations have a Count;
// aggregates have Count with Sum, Min and Max (in milliseconds for the t
// metrics), or Ratio, Numerator, Denominator and Target (oServiceLevel).
type ObservationStats struct {
	Count       int     `json:"count"`
	Sum         float64 `json:"sum,omitempty"`
	Min         float64 `json:"min,omitempty"`
	Max         float64 `json:"max,omitempty"`
	Ratio       float64 `json:"ratio,omitempty"`
	Numerator   float64 `json:"numerator,omitempty"`
	Denominator float64 `json:"denominator,omitempty"`
	Target      float64 `json:"target,omitempty"`
}

// Count returns the sum of stats.count of every entry of o named metric,
// over all qualifiers and intervals (for oOnQueueUsers: the agents on
// queue, whatever their routing status), and whether o has such an entry.
// An absent metric did not change: keep its previous value.
func (o QueueObservation) Count(metric string) (int, bool) {
	n, found := 0, false
	for _, d := range o.Data {
		for _, m := range d.Metrics {
			if m.Metric == metric {
				n += m.Stats.Count
				found = true
			}
		}
	}
	return n, found
}
