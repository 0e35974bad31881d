package testbed

import (
	"encoding/json"
	"slices"
	"sync"

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
//
// What Publish reports is exact: the faults of a Feed (Drop, DropCovered)
// never strike while a Publish runs, so a socket that Publish found open and
// subscribed is the socket the frame is written to. Only a client that
// closes its own socket during a Publish could make a count wrong, and the
// frame is then lost by that client's doing, so a test rightly counts it as
// delivered.
type Feed struct {
	// mu is held for reading by Publish and for writing by the faults.
	mu      sync.RWMutex
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
// server: the event reached replica i if delivered[i] > 0, and no replica
// at all if every count is zero. It is safe for concurrent use; the events
// of one goroutine arrive in order.
func (f *Feed) Publish(topic string, body json.RawMessage) (correlationID string, delivered []int) {
	f.mu.RLock()
	defer f.mu.RUnlock()
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

// Drop closes every socket of server i abruptly, between two Publish
// calls.
func (f *Feed) Drop(i int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.servers[i].DropAll()
}

// DropCovered drops the sockets of server i, as Drop does, only if every
// other server has a connected channel subscribed to each of topics, and
// reports whether it did. The check and the drop are one step for Publish:
// no event is published between them, so an event published while server i
// is down reaches the others.
func (f *Feed) DropCovered(i int, topics []string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for j := range f.servers {
		if j == i {
			continue
		}
		for _, topic := range topics {
			if !f.subscribed(j, topic) {
				return false
			}
		}
	}
	f.servers[i].DropAll()
	return true
}

// Subscribed reports whether server i has a connected channel subscribed
// to topic.
func (f *Feed) Subscribed(i int, topic string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.subscribed(i, topic)
}

// SubscribedAll reports whether every server has a connected channel
// subscribed to each of topics.
func (f *Feed) SubscribedAll(topics []string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for i := range f.servers {
		for _, topic := range topics {
			if !f.subscribed(i, topic) {
				return false
			}
		}
	}
	return true
}

func (f *Feed) subscribed(i int, topic string) bool {
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
