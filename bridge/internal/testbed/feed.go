package testbed

import (
	"encoding/json"
	"slices"

	"github.com/gcnotify/notify/notifytest"
)

// Feed plays Genesys Cloud for several bridge replicas. Each replica gets
// a fake server of its own, so that a fault (DropAll) hits one replica
// only, and every event is delivered to all of them as Genesys delivers it
// to every channel subscribed to its topic: with the same CorrelationId
// and the same body, byte for byte.
//
// Publish publishes on the first server with notifytest.Server.Publish,
// which picks the sockets subscribed to the topic and returns the
// CorrelationId it generated; it then writes the identical frame, with
// SendRaw, to every connected channel of the other servers that is
// subscribed to the topic. The replicas therefore see one event with one
// id, the way two channels of one organization see it.
type Feed struct {
	servers []*notifytest.Server
}

// NewFeed starts n fake servers with cfg.
func NewFeed(n int, cfg notifytest.Config) *Feed {
	f := &Feed{}
	for range n {
		f.servers = append(f.servers, notifytest.NewServer(cfg))
	}
	return f
}

// Server returns the server of replica i.
func (f *Feed) Server(i int) *notifytest.Server { return f.servers[i] }

// Len returns the number of servers.
func (f *Feed) Len() int { return len(f.servers) }

// Publish delivers one event to every server and returns its
// CorrelationId and the number of sockets it was written to on each
// server. It is safe for concurrent use; the events of one goroutine
// arrive in order.
func (f *Feed) Publish(topic string, body json.RawMessage) (correlationID string, delivered []int) {
	delivered = make([]int, len(f.servers))
	correlationID, delivered[0] = f.servers[0].Publish(topic, body)
	frame := Frame(topic, correlationID, body)
	for i, srv := range f.servers[1:] {
		for _, ch := range srv.Channels() {
			if ch.Connected && slices.Contains(srv.Subscriptions(ch.ID), topic) {
				srv.SendRaw(ch.ID, frame)
				delivered[i+1]++
			}
		}
	}
	return correlationID, delivered
}

// Drop closes every socket of server i abruptly.
func (f *Feed) Drop(i int) { f.servers[i].DropAll() }

// Subscribed reports whether server i has a connected channel subscribed
// to topic.
func (f *Feed) Subscribed(i int, topic string) bool {
	srv := f.servers[i]
	for _, ch := range srv.Channels() {
		if ch.Connected && slices.Contains(srv.Subscriptions(ch.ID), topic) {
			return true
		}
	}
	return false
}

// Close closes every server.
func (f *Feed) Close() {
	for _, s := range f.servers {
		s.Close()
	}
}

// Frame returns the socket frame of a Genesys notification, as the
// servers write it.
func Frame(topic, correlationID string, body json.RawMessage) []byte {
	b, err := json.Marshal(struct {
		TopicName string          `json:"topicName"`
		Version   string          `json:"version"`
		EventBody json.RawMessage `json:"eventBody"`
		Metadata  struct {
			CorrelationID string `json:"CorrelationId"`
		} `json:"metadata"`
	}{TopicName: topic, Version: "2", EventBody: body, Metadata: struct {
		CorrelationID string `json:"CorrelationId"`
	}{correlationID}})
	if err != nil {
		panic(err) // body is not valid JSON: a bug of the caller
	}
	return b
}
