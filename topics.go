package notify

import "strings"

// Topic builders. Each returns the Genesys Cloud topic name for an id and
// names the type to decode the topic's notifications into with Decode.
//
// They are plain string builders. Subscribe checks what they build: an
// empty id makes an empty segment ("v2.users..presence"), which it refuses
// with ErrInvalidTopic, as it does spaces and control characters; the
// server refuses, as a Rejected event and an error matching ErrRejected, a
// topic that it does not know or that the OAuth client may not see. Pass
// ids as Genesys prints them: lower-case UUIDs.

// UserPresenceTopic returns "v2.users.{userID}.presence": the user's
// presence changes. Decode its notifications into UserPresence; the body
// does not name the user, so take the id from the topic with TopicID.
func UserPresenceTopic(userID string) string {
	return "v2.users." + userID + ".presence"
}

// UserRoutingStatusTopic returns "v2.users.{userID}.routingStatus": the
// user's ACD routing status changes (IDLE, INTERACTING, OFF_QUEUE, …).
// Decode its notifications into UserRoutingStatus.
func UserRoutingStatusTopic(userID string) string {
	return "v2.users." + userID + ".routingStatus"
}

// UserConversationsTopic returns "v2.users.{userID}.conversations": every
// change of every conversation the user takes part in, of any media type.
// Decode its notifications into Conversation.
func UserConversationsTopic(userID string) string {
	return "v2.users." + userID + ".conversations"
}

// QueueConversationsTopic returns "v2.routing.queues.{queueID}.conversations":
// every change of every conversation routed through the queue. Decode its
// notifications into Conversation.
func QueueConversationsTopic(queueID string) string {
	return "v2.routing.queues." + queueID + ".conversations"
}

// QueueObservationsTopic returns "v2.analytics.queues.{queueID}.observations":
// the queue's live observations (oWaiting, oInteracting, oOnQueueUsers, …)
// and its 30-minute aggregates, at most about once a second. Decode its
// notifications into QueueObservation.
func QueueObservationsTopic(queueID string) string {
	return "v2.analytics.queues." + queueID + ".observations"
}

// topicForms are the prefixes and suffixes of the topics built above.
var topicForms = [...]struct{ prefix, suffix string }{
	{"v2.users.", ".presence"},
	{"v2.users.", ".routingStatus"},
	{"v2.users.", ".conversations"},
	{"v2.routing.queues.", ".conversations"},
	{"v2.analytics.queues.", ".observations"},
}

// TopicID returns the user or queue id of a topic of one of the forms built
// by UserPresenceTopic, UserRoutingStatusTopic, UserConversationsTopic,
// QueueConversationsTopic and QueueObservationsTopic, such as the Topic of
// a Notification. ok is false for any other topic, including one whose id
// is empty or contains a dot.
func TopicID(topic string) (id string, ok bool) {
	for _, f := range topicForms {
		rest, found := strings.CutPrefix(topic, f.prefix)
		if !found {
			continue
		}
		id, found = strings.CutSuffix(rest, f.suffix)
		if found && id != "" && !strings.Contains(id, ".") {
			return id, true
		}
	}
	return "", false
}
