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

// MsgID returns the JetStream message id of n: the hex SHA-256 of its
// topic, CorrelationId and body separated by NUL bytes. Genesys sends the
// same event with the same id and body on every channel, so every replica
// computes the same id for it; the CorrelationId alone is not unique, one
// API request can cause several events.
func MsgID(n notify.Notification) string {
	h := sha256.New()
	h.Write([]byte(n.Topic))
	h.Write([]byte{0})
	h.Write([]byte(n.CorrelationID))
	h.Write([]byte{0})
	h.Write(n.Body)
	return hex.EncodeToString(h.Sum(nil))
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

// notificationMsg returns the JetStream message of n.
func notificationMsg(n notify.Notification, replica string) *nats.Msg {
	m := nats.NewMsg(Subject(n.Topic))
	m.Data = n.Body
	m.Header.Set(jetstream.MsgIDHeader, MsgID(n))
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
