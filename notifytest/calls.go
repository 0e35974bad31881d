package notifytest

import (
	"fmt"
	"slices"
	"time"
)

// CallState is a stage of an inbound voice call, for PublishCall.
type CallState string

// The stages of a call, in the order they come.
const (
	// CallWaiting: the caller waits in the queue; no agent has it yet.
	CallWaiting CallState = "waiting"
	// CallAlerting: the call rings at the agent the queue chose.
	CallAlerting CallState = "alerting"
	// CallConnected: the agent talks to the caller; the queue is done.
	CallConnected CallState = "connected"
	// CallEnded: the caller hung up; the agent has a wrap-up to enter.
	CallEnded CallState = "ended"
)

var callStates = []CallState{CallWaiting, CallAlerting, CallConnected, CallEnded}

// A Call is an inbound voice call that a queue routes to an agent, as
// PublishCall publishes it.
type Call struct {
	// ID is the conversation id. Empty: PublishCall makes one and returns
	// it; pass it again to publish the call's next stage.
	ID string
	// QueueID is the queue the call came in on. Required.
	QueueID string
	// AgentID is the user the queue routed the call to. Required from
	// CallAlerting on.
	AgentID string
	// Caller is the caller's number, in E.164 form. Empty: "+13175550123".
	Caller string
	// State is the call's stage. Empty: CallWaiting.
	State CallState
}

// PublishCall publishes the conversation of call as Genesys publishes each
// change of one: the whole conversation, every participant with its calls,
// on v2.routing.queues.{QueueID}.conversations and, once the call reaches
// the agent (CallAlerting and after), on v2.users.{AgentID}.conversations
// too. Here when connected (times shortened):
//
//	{"id":"{ID}","maxParticipants":3,"recordingState":"NONE","participants":[
//	 {"id":"…","name":"Mobile Number","purpose":"customer","address":"tel:+13175550123",
//	  "connectedTime":"…","wrapupRequired":false,"calls":[{"id":"…","state":"connected",
//	  "initialState":"offering","direction":"inbound","provider":"Edge","connectedTime":"…",
//	  "self":{"addressNormalized":"tel:+13175550123",…},"other":{"addressNormalized":"tel:+18005550199",…}}]},
//	 {"id":"…","name":"Queue","purpose":"acd","queueId":"{QueueID}","connectedTime":"…",
//	  "endTime":"…","calls":[{"id":"…","state":"disconnected","disconnectType":"transfer",…}]},
//	 {"id":"…","name":"Agent","purpose":"agent","userId":"{AgentID}","queueId":"{QueueID}",
//	  "connectedTime":"…","wrapupRequired":true,"alertingTimeoutMs":8000,"calls":[{"id":"…",
//	  "state":"connected","initialState":"alerting",…}]}]}
//
// A participant's times are those of the stages of the call, each set when
// the server first sees the stage (or a later one) for ID, so publishing a
// stage again publishes the same body; participant and call ids are derived
// from ID. It returns the conversation id and the number of frames
// written, over both topics, as Publish counts them. PublishCall panics if
// QueueID is empty, AgentID is empty from CallAlerting on, or State is
// unknown.
func (s *Server) PublishCall(call Call) (id string, delivered int) {
	if call.State == "" {
		call.State = CallWaiting
	}
	stage := slices.Index(callStates, call.State)
	if stage < 0 {
		panic(fmt.Sprintf("notifytest: PublishCall: invalid state %q", call.State))
	}
	checkValue("PublishCall", "queue id", call.QueueID, nil)
	if stage > 0 {
		checkValue("PublishCall", "agent id", call.AgentID, nil)
	}
	if call.ID == "" {
		call.ID = newUUID()
	}
	if call.Caller == "" {
		call.Caller = "+13175550123"
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.mu.Lock()
	times := s.org.calls[call.ID]
	for i := len(times); i <= stage; i++ {
		times = append(times, time.Now().UTC().Truncate(time.Millisecond))
	}
	s.org.calls[call.ID] = times
	s.mu.Unlock()

	body := callConversation(call, times[:stage+1])
	_, delivered = s.Publish("v2.routing.queues."+call.QueueID+".conversations", body)
	if stage > 0 {
		_, n := s.Publish("v2.users."+call.AgentID+".conversations", body)
		delivered += n
	}
	return call.ID, delivered
}

// callConversation returns the conversation of call at the last of its
// stages, which began at times.
func callConversation(call Call, times []time.Time) conversationJSON {
	at := func(st CallState) string {
		if i := slices.Index(callStates, st); i < len(times) {
			return times[i].Format(timeFormat)
		}
		return ""
	}
	ended := at(CallEnded)
	customerCall := callJSON{
		ID: nameUUID(call.ID + " customer call"), State: "connected", InitialState: "offering", Direction: "inbound",
		Provider: "Edge", ConnectedTime: at(CallWaiting), DisconnectedTime: ended,
		Self:  &addressJSON{AddressNormalized: "tel:" + call.Caller, AddressRaw: call.Caller, AddressDisplayable: call.Caller},
		Other: &addressJSON{Name: "Queue", AddressNormalized: "tel:+18005550199", AddressRaw: "+18005550199", AddressDisplayable: "1 (800) 555-0199"},
	}
	if ended != "" {
		customerCall.State, customerCall.DisconnectType = "disconnected", "endpoint"
	}
	acdCall := callJSON{
		ID: nameUUID(call.ID + " acd call"), State: "connected", Direction: "inbound", Provider: "Edge",
		ConnectedTime: at(CallWaiting), DisconnectedTime: at(CallConnected),
	}
	if acdCall.DisconnectedTime != "" { // the queue hands the call to the agent
		acdCall.State, acdCall.DisconnectType = "disconnected", "transfer"
	}
	conv := conversationJSON{ID: call.ID, MaxParticipants: 3, RecordingState: "NONE", Participants: []participantJSON{
		{ID: nameUUID(call.ID + " customer"), Name: "Mobile Number", Purpose: "customer", Address: "tel:" + call.Caller,
			ConnectedTime: at(CallWaiting), EndTime: ended, Calls: []callJSON{customerCall}},
		{ID: nameUUID(call.ID + " acd"), Name: "Queue", Purpose: "acd", QueueID: call.QueueID,
			ConnectedTime: at(CallWaiting), EndTime: at(CallConnected), Calls: []callJSON{acdCall}},
	}}
	if len(times) > 1 {
		conv.Participants = append(conv.Participants, agentParticipant(call, at))
	}
	return conv
}

// agentParticipant returns the agent's part of call; at gives the time a
// stage began, "" if it has not.
func agentParticipant(call Call, at func(CallState) string) participantJSON {
	agent := participantJSON{
		ID: nameUUID(call.ID + " agent"), Name: "Agent", Purpose: "agent", UserID: call.AgentID, QueueID: call.QueueID,
		ConnectedTime: at(CallConnected), EndTime: at(CallEnded), StartAcwTime: at(CallEnded),
		WrapupRequired: true, AlertingTimeoutMs: 8000,
		Calls: []callJSON{{
			ID: nameUUID(call.ID + " agent call"), State: "alerting", InitialState: "alerting", Direction: "inbound",
			Provider: "Edge", ConnectedTime: at(CallConnected), DisconnectedTime: at(CallEnded),
		}},
	}
	switch call.State {
	case CallConnected:
		agent.Calls[0].State = "connected"
	case CallEnded:
		agent.Calls[0].State, agent.Calls[0].DisconnectType = "disconnected", "peer"
	}
	return agent
}

// Bodies of conversation notifications: the fields of the SDKs'
// ConversationEventTopicConversation and
// QueueConversationEventTopicConversation that the fake fills.
type (
	conversationJSON struct {
		ID              string            `json:"id"`
		MaxParticipants int               `json:"maxParticipants"`
		Participants    []participantJSON `json:"participants"`
		RecordingState  string            `json:"recordingState"`
	}
	participantJSON struct {
		ID                string     `json:"id"`
		Name              string     `json:"name"`
		Purpose           string     `json:"purpose"`
		UserID            string     `json:"userId,omitempty"`
		QueueID           string     `json:"queueId,omitempty"`
		Address           string     `json:"address,omitempty"`
		ConnectedTime     string     `json:"connectedTime,omitempty"`
		EndTime           string     `json:"endTime,omitempty"`
		StartAcwTime      string     `json:"startAcwTime,omitempty"`
		WrapupRequired    bool       `json:"wrapupRequired"`
		AlertingTimeoutMs int        `json:"alertingTimeoutMs,omitempty"`
		Calls             []callJSON `json:"calls"`
	}
	callJSON struct {
		ID               string       `json:"id"`
		State            string       `json:"state"`
		InitialState     string       `json:"initialState,omitempty"`
		Recording        bool         `json:"recording"`
		Muted            bool         `json:"muted"`
		Held             bool         `json:"held"`
		Direction        string       `json:"direction"`
		DisconnectType   string       `json:"disconnectType,omitempty"`
		Provider         string       `json:"provider"`
		ConnectedTime    string       `json:"connectedTime,omitempty"`
		DisconnectedTime string       `json:"disconnectedTime,omitempty"`
		Self             *addressJSON `json:"self,omitempty"`
		Other            *addressJSON `json:"other,omitempty"`
	}
	addressJSON struct {
		Name               string `json:"name,omitempty"`
		AddressNormalized  string `json:"addressNormalized"`
		AddressRaw         string `json:"addressRaw"`
		AddressDisplayable string `json:"addressDisplayable"`
	}
)
