package bridge

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/gcnotify/notify"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SubjectPrefix is the first token of every subject the bridge publishes
// on; the stream captures SubjectPrefix + ".>".
const SubjectPrefix = "gc"

// LifecyclePrefix is the subject prefix of the lifecycle Records:
// "gc._bridge.<replica>.<kind>". Genesys topics start with "v2.", so the
// two never meet.
const LifecyclePrefix = SubjectPrefix + "._bridge"

// Headers set on every notification, besides jetstream.MsgIDHeader.
const (
	HeaderTopic         = "Genesys-Topic"
	HeaderCorrelationID = "Genesys-Correlation-Id"
	HeaderVersion       = "Genesys-Version"
	HeaderReceived      = "Bridge-Received" // RFC 3339, when the frame was read
	HeaderReplica       = "Bridge-Replica"
)

// Kinds of lifecycle Records, the last token of their subject.
const (
	KindConnected    = "connected"
	KindDisconnected = "disconnected"
	KindRejected     = "rejected"
	KindDropped      = "dropped"
)

// Subject returns the subject of a notification on topic: "gc." + topic,
// with characters that cannot appear in a subject token (spaces, "*" and
// ">") replaced by "_" and empty tokens by "_".
func Subject(topic string) string {
	toks := strings.Split(topic, ".")
	for i, t := range toks {
		toks[i] = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n', '*', '>':
				return '_'
			}
			return r
		}, t)
		if toks[i] == "" {
			toks[i] = "_"
		}
	}
	return SubjectPrefix + "." + strings.Join(toks, ".")
}

// MsgID returns the JetStream message id that every replica computes for
// n, and true, if n has a CorrelationID: the hex SHA-256 of its topic,
// CorrelationId and body separated by NUL bytes. Genesys sends the same
// event with the same CorrelationId and body on every channel, so the
// replicas' copies of one event share the id and the stream keeps one; the
// CorrelationId alone is not unique, one API request can cause several
// events.
//
// A notification without a CorrelationID (the token-frame protocol sends
// none) has no such id: two distinct events with the same topic and body
// would share it and the stream would keep only the first, so MsgID
// returns "" and false, and the bridge gives the notification an id unique
// to its delivery (see DeliveryID) instead. Such a notification is
// de-duplicated against the bridge's own retries only, never against
// another replica's copy.
func MsgID(n notify.Notification) (id string, shared bool) {
	if n.CorrelationID == "" {
		return "", false
	}
	h := sha256.New()
	h.Write([]byte(n.Topic))
	h.Write([]byte{0})
	h.Write([]byte(n.CorrelationID))
	h.Write([]byte{0})
	h.Write(n.Body)
	return hex.EncodeToString(h.Sum(nil)), true
}

// DeliveryID returns the message id of a notification without a shared id
// (see MsgID): "bridge.<replica>.<run>.n<seq>", where run is unique to one
// Run of the bridge and seq counts its notifications from 1. Every publish
// of the notification, retries included, carries it.
func DeliveryID(replica, run string, seq uint64) string {
	return "bridge." + sanitizeToken(replica) + "." + run + ".n" + strconv.FormatUint(seq, 10)
}

// LifecycleSubject returns "gc._bridge.<replica>.<kind>".
func LifecycleSubject(replica, kind string) string {
	return LifecyclePrefix + "." + sanitizeToken(replica) + "." + kind
}

// sanitizeToken makes s usable as one subject token.
func sanitizeToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', ' ', '\t', '\r', '\n', '*', '>':
			return '-'
		}
		return r
	}, strings.TrimSpace(s))
}

// notificationMsg returns the JetStream message of n; id is its message
// id when n has no shared one (see MsgID).
func notificationMsg(n notify.Notification, replica string, id func() string) *nats.Msg {
	m := nats.NewMsg(Subject(n.Topic))
	m.Data = n.Body
	msgID, ok := MsgID(n)
	if !ok {
		msgID = id()
	}
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	m.Header.Set(HeaderTopic, n.Topic)
	if n.CorrelationID != "" {
		m.Header.Set(HeaderCorrelationID, n.CorrelationID)
	}
	if n.Version != "" {
		m.Header.Set(HeaderVersion, n.Version)
	}
	if !n.Received.IsZero() {
		m.Header.Set(HeaderReceived, n.Received.UTC().Format(time.RFC3339Nano))
	}
	m.Header.Set(HeaderReplica, replica)
	return m
}

// recordMsg returns the JetStream message of a lifecycle record. Its id is
// unique to this run of the bridge, so a retried publish is stored once.
func recordMsg(r Record, runID string, seq uint64) *nats.Msg {
	m := nats.NewMsg(LifecycleSubject(r.Replica, r.Kind))
	m.Data = r.encode()
	m.Header.Set(jetstream.MsgIDHeader, "bridge."+r.Replica+"."+runID+"."+strconv.FormatUint(seq, 10))
	m.Header.Set(HeaderReplica, r.Replica)
	return m
}
