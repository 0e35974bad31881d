package notifytest_test

import (
	"bytes"
	"testing"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
)

// nextBody reads the next event of c, which must be on topic, and decodes
// its body with notify.Decode into a T.
func nextBody[T any](t *testing.T, c *websocket.Conn, topic string) (T, []byte) {
	t.Helper()
	e := readEvent(t, c)
	if e.TopicName != topic {
		t.Fatalf("got %s, want an event on %s", e.raw, topic)
	}
	v, err := notify.Decode[T](notify.Notification{Topic: e.TopicName, Body: e.EventBody})
	if err != nil {
		t.Fatalf("%s: %v", e.EventBody, err)
	}
	return v, e.EventBody
}

// Every body type that package notify decodes has a helper that publishes
// a realistic body of it, which notify.Decode reads.
func TestHelpersPublishEveryBodyType(t *testing.T) {
	const (
		presence = "v2.users.u1.presence"
		routing  = "v2.users.u1.routingStatus"
		userConv = "v2.users.u1.conversations"
		queue    = "v2.analytics.queues.q1.observations"
		queueCnv = "v2.routing.queues.q1.conversations"
	)
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	c := subscribedSocket(t, h, presence, routing, userConv, queue, queueCnv)

	h.srv.SetPresence("u1", "Busy")
	if p, body := nextBody[notify.UserPresence](t, c, presence); p.PresenceDefinition.SystemPresence != "Busy" || p.ModifiedDate.IsZero() {
		t.Errorf("UserPresence %+v from %s", p, body)
	}
	h.srv.SetRoutingStatus("u1", "IDLE")
	if r, body := nextBody[notify.UserRoutingStatus](t, c, routing); r.RoutingStatus.Status != "IDLE" || r.ID != "u1" {
		t.Errorf("UserRoutingStatus %+v from %s", r, body)
	}
	h.srv.SetQueueObservation("q1", map[string]int{"oWaiting": 2, "oOnQueueUsers:IDLE": 1})
	if o, body := nextBody[notify.QueueObservation](t, c, queue); o.Group.MediaType != "voice" || !hasCount(o, "oWaiting", 2) {
		t.Errorf("QueueObservation %+v from %s", o, body)
	}
	if o, body := nextBody[notify.QueueObservation](t, c, queue); o.Group.QueueID != "q1" || !hasCount(o, "oOnQueueUsers", 1) {
		t.Errorf("QueueObservation %+v from %s", o, body)
	}

	// A call through its stages: the queue's topic gets each, the agent's
	// from the moment it rings.
	call := notifytest.Call{QueueID: "q1", AgentID: "u1"}
	id, n := h.srv.PublishCall(call)
	if conv, body := nextBody[notify.Conversation](t, c, queueCnv); n != 1 || conv.ID != id || len(conv.Participants) != 2 ||
		conv.Participants[0].State() != "connected" || conv.Participants[1].QueueID != "q1" || conv.Ended() {
		t.Errorf("waiting: delivered %d, Conversation %+v from %s", n, conv, body)
	}
	call.ID = id
	var last []byte
	for _, stage := range []struct {
		state notifytest.CallState
		agent string // the state of the agent's call
	}{{notifytest.CallAlerting, "alerting"}, {notifytest.CallConnected, "connected"}, {notifytest.CallEnded, "disconnected"}} {
		call.State = stage.state
		if _, n := h.srv.PublishCall(call); n != 2 {
			t.Errorf("%s: delivered %d, want 2", stage.state, n)
		}
		conv, body := nextBody[notify.Conversation](t, c, queueCnv)
		_, userBody := nextBody[notify.Conversation](t, c, userConv)
		last = body
		agent, ok := conv.UserParticipant("u1")
		if !bytes.Equal(body, userBody) || conv.ID != id || !ok || agent.Purpose != "agent" || agent.State() != stage.agent ||
			conv.Ended() != (stage.state == notifytest.CallEnded) {
			t.Errorf("%s: Conversation %+v from %s and %s", stage.state, conv, body, userBody)
		}
		if stage.state == notifytest.CallEnded && (!agent.WrapupRequired || agent.EndTime.Before(agent.ConnectedTime) || agent.ConnectedTime.IsZero()) {
			t.Errorf("ended: agent %+v", agent)
		}
	}
	// A stage published again is the same body.
	h.srv.PublishCall(call)
	if _, again := nextBody[notify.Conversation](t, c, queueCnv); !bytes.Equal(again, last) {
		t.Errorf("the same stage again:\n%s\n%s", last, again)
	}
}

func hasCount(o notify.QueueObservation, metric string, want int) bool {
	n, ok := o.Count(metric)
	return ok && n == want
}

func TestPublishCallPanics(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	for name, call := range map[string]notifytest.Call{
		"no queue":          {AgentID: "u1"},
		"no agent alerting": {QueueID: "q1", State: notifytest.CallAlerting},
		"unknown state":     {QueueID: "q1", AgentID: "u1", State: "ringing"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: PublishCall did not panic", name)
				}
			}()
			h.srv.PublishCall(call)
		}()
	}
}
