// Package bridge copies Genesys Cloud notifications into NATS JetStream,
// so that several replicas of a service can share one durable,
// de-duplicated stream of them.
//
// A Bridge runs a subscribed notify.Client and publishes every
// notify.Notification to the JetStream subject "gc.<topicName>" (see
// Subject) with a Nats-Msg-Id header derived from the topic, the
// CorrelationId and the body (see MsgID). Genesys delivers the same event,
// with the same CorrelationId and body, on every channel subscribed to its
// topic, so two bridges subscribed to the same topics publish the same
// message id and the stream's duplicate window keeps one copy: either
// replica may lose its socket without losing events, as long as the other
// one is connected.
//
// That de-duplication needs the CorrelationId. A notification without one
// (the token-frame protocol sends none) is published with a message id
// unique to its delivery (see MsgID and DeliveryID): two distinct events
// with equal bodies are both stored, and the bridge's own retries of one
// publish are still stored once, but the copies of one event that two
// replicas publish are both stored. On the channel protocol, two events
// with the same topic, CorrelationId and body within the duplicate window
// cannot be told apart from two copies of one event: the stream keeps the
// first.
//
// The lifecycle of the client (connected, disconnected, rejected,
// dropped) is published as JSON Records on
// "gc._bridge.<replica>.<kind>", each with a message id of its own, so
// consumers see where a replica had a gap.
//
// Events are read from the client at once into a bounded buffer, which is
// never waited on: while NATS is unreachable the buffer grows up to
// Config.BufferSize notifications and further ones are counted as dropped
// (and reported as a dropped Record). A single publisher goroutine drains
// it in order with up to Config.MaxInFlight asynchronous publishes, waits
// for every acknowledgement and publishes again, after a backoff, whatever
// was not acknowledged; the message ids make those retries harmless.
//
// Run stops reading Genesys when its context ends, drains the buffer
// within Config.DrainTimeout and returns.
package bridge
