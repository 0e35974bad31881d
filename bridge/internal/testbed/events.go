package testbed

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"
)

// Agents and queues of the synthetic events.
var (
	Agents = []string{
		"3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b",
		"8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f",
		"c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
	}
	Queues = []string{
		"fd17a0c2-41b9-4d6e-9b0a-7e3c2d1f0a9b",
		"0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
	}
)

// Topics returns the topics of the synthetic events: the presence of
// every agent and the conversations of every queue.
func Topics() []string {
	var out []string
	for _, a := range Agents {
		out = append(out, "v2.users."+a+".presence")
	}
	for _, q := range Queues {
		out = append(out, "v2.routing.queues."+q+".conversations")
	}
	return out
}

// Synth makes synthetic presence and queue events, each with a distinct
// sequence number in its body. It is safe for concurrent use.
type Synth struct {
	topics []string
	run    string
	seq    atomic.Int64
}

// NewSynth returns a Synth whose first event has sequence number 1. Its
// bodies carry a run id of their own, so that events of earlier runs in
// the same stream are told apart.
func NewSynth() *Synth { return &Synth{topics: Topics(), run: rand.Text()[:8]} }

// Run returns the run id in the bodies of s.
func (s *Synth) Run() string { return s.run }

// Last returns the sequence number of the last event made.
func (s *Synth) Last() int64 { return s.seq.Load() }

var presences = []string{"Available", "Busy", "Away", "Meal", "Meeting"}

type presenceBody struct {
	Run                string `json:"run"`
	Seq                int64  `json:"seq"`
	ID                 string `json:"id"`
	PresenceDefinition struct {
		ID             string `json:"id"`
		SystemPresence string `json:"systemPresence"`
	} `json:"presenceDefinition"`
	ModifiedDate string `json:"modifiedDate"`
}

type participant struct {
	Purpose string `json:"purpose"`
	QueueID string `json:"queueId,omitempty"`
	State   string `json:"state"`
}

type conversationBody struct {
	Run          string        `json:"run"`
	Seq          int64         `json:"seq"`
	ID           string        `json:"id"`
	Participants []participant `json:"participants"`
}

// Next returns the next event: its topic, its body (compact JSON) and its
// sequence number.
func (s *Synth) Next() (topic string, body json.RawMessage, seq int64) {
	seq = s.seq.Add(1)
	i := int(seq % int64(len(s.topics)))
	topic = s.topics[i]
	now := time.Now().UTC().Format(time.RFC3339Nano)
	var v any
	if i < len(Agents) {
		p := presenceBody{Run: s.run, Seq: seq, ID: Agents[i], ModifiedDate: now}
		k := int(seq/int64(len(s.topics))) % len(presences)
		p.PresenceDefinition.ID = fmt.Sprint(k)
		p.PresenceDefinition.SystemPresence = presences[k]
		v = p
	} else {
		q := Queues[i-len(Agents)]
		v = conversationBody{Run: s.run, Seq: seq, ID: fmt.Sprintf("conv-%08d", seq), Participants: []participant{
			{Purpose: "customer", State: "connected"},
			{Purpose: "acd", QueueID: q, State: "alerting"},
		}}
	}
	body, _ = json.Marshal(v)
	return topic, body, seq
}

// SeqOf returns the run id and sequence number of a synthetic event's
// body.
func SeqOf(body []byte) (run string, seq int64, ok bool) {
	var v struct {
		Run string `json:"run"`
		Seq int64  `json:"seq"`
	}
	if json.Unmarshal(body, &v) != nil || v.Seq == 0 {
		return "", 0, false
	}
	return v.Run, v.Seq, true
}
