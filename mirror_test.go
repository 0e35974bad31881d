package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	mUser  = "3b5e0f7a-2d1c-4e8b-9a6f-0c1d2e3f4a5b"
	mQueue = "fd17a7c2-3b4e-4d5f-8a6b-7c8d9e0f1a2b"
)

var mT0 = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)

// at returns mT0 plus s seconds.
func at(s int) time.Time { return mT0.Add(time.Duration(s) * time.Second) }

func presenceBody(system string, modified time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"source":"PURECLOUD","presenceDefinition":{"id":"e08e","systemPresence":%q},"message":"","modifiedDate":%q}`,
		system, modified.Format(time.RFC3339Nano)))
}

func routingBody(status string, start time.Time) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"id":%q,"routingStatus":{"status":%q,"startTime":%q}}`, mUser, status, start.Format(time.RFC3339Nano)))
}

// eventBody returns the eventBody of a frame in testdata/bodies.
func eventBody(t testing.TB, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "bodies", name))
	if err != nil {
		t.Fatal(err)
	}
	var frame struct{ EventBody json.RawMessage }
	if err := json.Unmarshal(b, &frame); err != nil {
		t.Fatal(err)
	}
	return frame.EventBody
}

func wantApply(t *testing.T, m *Mirror, ev Event, want bool) {
	t.Helper()
	if got := m.Apply(ev); got != want {
		if p, ok := payloadOf(ev); ok {
			t.Fatalf("Apply(%T of %s: %s) = %v, want %v", ev, p.topic, p.body, got, want)
		}
		t.Fatalf("Apply(%#v) = %v, want %v", ev, got, want)
	}
}

func wantPresence(t *testing.T, m *Mirror, system string) {
	t.Helper()
	p, ok := m.Presence(mUser)
	if !ok || p.PresenceDefinition.SystemPresence != system {
		t.Fatalf("Presence = %+v, %v; want %s", p, ok, system)
	}
}

func TestMirrorPresenceByModifiedDate(t *testing.T) {
	m := NewMirror()
	topic := UserPresenceTopic(mUser)
	wantApply(t, m, Notification{Topic: topic, Body: presenceBody("Available", at(10)), Received: at(11)}, true)
	// A snapshot older than the event never overwrites it, even read later.
	wantApply(t, m, Snapshot{Topic: topic, Body: presenceBody("Away", at(5)), Taken: at(20)}, false)
	wantPresence(t, m, "Available")
	wantApply(t, m, Snapshot{Topic: topic, Body: presenceBody("On Queue", at(15)), Taken: at(20)}, true)
	// An event older than the snapshot never overwrites it either, even if
	// it arrives after it.
	wantApply(t, m, Notification{Topic: topic, Body: presenceBody("Busy", at(12)), Received: at(21)}, false)
	wantPresence(t, m, "On Queue")
	p, _ := m.Presence(mUser)
	if !p.ModifiedDate.Equal(at(15)) {
		t.Errorf("ModifiedDate = %v", p.ModifiedDate)
	}
	// The same body again changes nothing.
	wantApply(t, m, Notification{Topic: topic, Body: presenceBody("On Queue", at(15))}, false)
}

func TestMirrorEqualVersionsLaterApplyWins(t *testing.T) {
	m := NewMirror()
	topic := UserPresenceTopic(mUser)
	wantApply(t, m, Notification{Topic: topic, Body: presenceBody("Available", at(10))}, true)
	wantApply(t, m, Snapshot{Topic: topic, Body: presenceBody("Busy", at(10))}, true)
	wantPresence(t, m, "Busy")
	wantApply(t, m, Notification{Topic: topic, Body: presenceBody("Available", at(10))}, true)
	wantPresence(t, m, "Available")
}

func TestMirrorRoutingStatusByStartTime(t *testing.T) {
	m := NewMirror()
	topic := UserRoutingStatusTopic(mUser)
	wantApply(t, m, Notification{Topic: topic, Body: eventBody(t, "user_routing_status.json")}, true) // INTERACTING at 09:12:40.118
	wantApply(t, m, Snapshot{Topic: topic, Body: routingBody("IDLE", time.Date(2025, 3, 4, 9, 12, 40, 117e6, time.UTC))}, false)
	rs, ok := m.RoutingStatus(mUser)
	if !ok || rs.RoutingStatus.Status != "INTERACTING" || rs.ID != mUser {
		t.Fatalf("RoutingStatus = %+v, %v", rs, ok)
	}
	wantApply(t, m, Snapshot{Topic: topic, Body: routingBody("IDLE", time.Date(2025, 3, 4, 9, 12, 40, 119e6, time.UTC))}, true)
	if rs, _ := m.RoutingStatus(mUser); rs.RoutingStatus.Status != "IDLE" {
		t.Fatalf("RoutingStatus = %+v", rs)
	}
	// startTime counts only inside routingStatus.
	wantApply(t, m, Notification{Topic: topic, Body: json.RawMessage(`{"startTime":"2030-01-01T00:00:00Z","routingStatus":{"status":"OFF_QUEUE","startTime":"2025-03-04T09:00:00Z"}}`)}, false)
}

// Apply reports a change of state, not of bytes: a snapshot of the state
// the Mirror holds changes nothing, although its body has other fields.
func TestMirrorApplyReportsChangeOfState(t *testing.T) {
	t.Run("presence", func(t *testing.T) {
		m := NewMirror()
		topic := UserPresenceTopic(mUser)
		date := at(10).Format(time.RFC3339Nano)
		// The notification's body, and the snapshot's (UcUserPresence):
		// userId added, primary left out.
		note := func(system, id, message, date string) json.RawMessage {
			return json.RawMessage(fmt.Sprintf(`{"source":"PURECLOUD","presenceDefinition":{"id":%q,"systemPresence":%q},"primary":true,"message":%q,"modifiedDate":%q}`,
				id, system, message, date))
		}
		snap := json.RawMessage(fmt.Sprintf(`{"userId":%q,"source":"PURECLOUD","presenceDefinition":{"systemPresence":"Available","id":"e08e"},"modifiedDate":%q}`, mUser, date))
		wantApply(t, m, Notification{Topic: topic, Body: note("Available", "e08e", "", date), Received: at(11)}, true)
		wantApply(t, m, Snapshot{Topic: topic, Body: snap, Taken: at(12)}, false)
		wantApply(t, m, Notification{Topic: topic, Body: note("Available", "e08e", "", date)}, false)
		wantApply(t, m, Notification{Topic: topic, Body: json.RawMessage(strings.ReplaceAll(string(note("Available", "e08e", "", date)), ",", " ,\n "))}, false)
		// Each part of the state counts, and a newer version does.
		wantApply(t, m, Notification{Topic: topic, Body: note("Available", "e08e", "back at 2", date)}, true)
		wantApply(t, m, Notification{Topic: topic, Body: note("Available", "lunch", "back at 2", date)}, true)
		wantApply(t, m, Notification{Topic: topic, Body: note("Busy", "lunch", "back at 2", date)}, true)
		wantApply(t, m, Notification{Topic: topic, Body: note("Busy", "lunch", "back at 2", at(13).Format(time.RFC3339Nano))}, true)
		wantPresence(t, m, "Busy")
	})
	t.Run("routing status", func(t *testing.T) {
		m := NewMirror()
		topic := UserRoutingStatusTopic(mUser)
		start := at(10).Format(time.RFC3339Nano)
		// The snapshot's body is built from the user entity: its
		// routingStatus carries userId.
		snap := json.RawMessage(fmt.Sprintf(`{"id":%q,"routingStatus":{"userId":%[1]q,"status":"IDLE","startTime":%q}}`, mUser, start))
		wantApply(t, m, Notification{Topic: topic, Body: routingBody("IDLE", at(10))}, true)
		wantApply(t, m, Snapshot{Topic: topic, Body: snap}, false)
		wantApply(t, m, Notification{Topic: topic, Body: routingBody("INTERACTING", at(10))}, true)
		wantApply(t, m, Notification{Topic: topic, Body: routingBody("INTERACTING", at(11))}, true)
	})
	t.Run("queue observations", func(t *testing.T) {
		m := NewMirror()
		topic := QueueObservationsTopic(mQueue)
		wantApply(t, m, Notification{Topic: topic, Body: observationBody("t1/t1", metric("oWaiting", 3), metric("oInteracting", 5)), Received: at(1)}, true)
		// The same values at a later instant, in another order, as
		// decimals, or read by a snapshot in the query's flat form.
		wantApply(t, m, Notification{Topic: topic, Body: observationBody("t2/t2", metric("oInteracting", 5), metric("oWaiting", 3)), Received: at(2)}, false)
		wantApply(t, m, Notification{Topic: topic, Body: observationBody("t3/t3", `{"metric":"oWaiting","stats":{"count":3.0}}`), Received: at(3)}, false)
		snap := fmt.Sprintf(`{"group":{"queueId":%q},"data":[`+
			`{"group":{"queueId":%[1]q,"mediaType":"voice"},"metric":"oWaiting","stats":{"count":3}},`+
			`{"group":{"queueId":%[1]q,"mediaType":"voice"},"metric":"oInteracting","stats":{"count":5}}]}`, mQueue)
		wantApply(t, m, Snapshot{Topic: topic, Body: json.RawMessage(snap), Taken: at(4)}, false)
		// A value that changes, a metric that comes or goes, does.
		wantApply(t, m, Notification{Topic: topic, Body: observationBody("t5/t5", metric("oWaiting", 4)), Received: at(5)}, true)
		wantApply(t, m, Notification{Topic: topic, Body: observationBody("t6/t6", metric("oAlerting", 0)), Received: at(6)}, true)
		wantApply(t, m, Snapshot{Topic: topic, Body: json.RawMessage(snap), Taken: at(7)}, true)
		wantCounts(t, m, map[string]int{"oWaiting": 3, "oInteracting": 5, "oAlerting": -1})
	})
}

// Without a version on both sides, the read times decide; without those,
// the order of Apply.
func TestMirrorUnversionedBodies(t *testing.T) {
	m := NewMirror()
	topic := UserPresenceTopic(mUser)
	wantApply(t, m, Notification{Topic: topic, Body: eventBody(t, "user_presence.json"), Received: at(10)}, true)
	noDate := func(system string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"presenceDefinition":{"systemPresence":%q}}`, system))
	}
	wantApply(t, m, Snapshot{Topic: topic, Body: noDate("Away"), Taken: at(9)}, false)
	wantPresence(t, m, "On Queue")
	wantApply(t, m, Notification{Topic: topic, Body: noDate("Busy"), Received: at(12)}, true)
	wantPresence(t, m, "Busy")
	wantApply(t, m, Notification{Topic: topic, Body: noDate("Meal")}, true)
	wantPresence(t, m, "Meal")
	// An unreadable version is no version.
	wantApply(t, m, Notification{Topic: topic, Body: json.RawMessage(`{"presenceDefinition":{"systemPresence":"Idle"},"modifiedDate":"yesterday"}`)}, true)
	if _, ok := m.Presence(mUser); ok {
		t.Error("Presence of a body that does not decode: ok")
	}
	if b, ok := m.Body(topic); !ok || !json.Valid(b) {
		t.Errorf("Body = %s, %v", b, ok)
	}
}

// observationBody is a notification body of the voice group.
func observationBody(interval string, metrics ...string) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"group":{"queueId":%q,"mediaType":"voice"},"data":[{"interval":%q,"metrics":[%s]}]}`,
		mQueue, interval, strings.Join(metrics, ",")))
}

func metric(name string, count int) string {
	return fmt.Sprintf(`{"metric":%q,"stats":{"count":%d}}`, name, count)
}

func wantCounts(t *testing.T, m *Mirror, want map[string]int) {
	t.Helper()
	o, ok := m.QueueObservation(mQueue)
	if !ok || o.Group.QueueID != mQueue {
		t.Fatalf("QueueObservation = %+v, %v", o, ok)
	}
	for name, n := range want {
		got, ok := o.Count(name)
		if n < 0 {
			if ok {
				t.Errorf("Count(%s) = %d, want none", name, got)
			}
			continue
		}
		if !ok || got != n {
			t.Errorf("Count(%s) = %d, %v; want %d", name, got, ok, n)
		}
	}
}

func TestMirrorQueueObservations(t *testing.T) {
	m := NewMirror()
	topic := QueueObservationsTopic(mQueue)
	// Conversation metrics of the voice group, then agent metrics: both
	// are kept.
	wantApply(t, m, Notification{Topic: topic, Body: eventBody(t, "queue_observations.json"), Received: at(1)}, true)
	wantApply(t, m, Notification{Topic: topic, Body: eventBody(t, "queue_observations_users.json"), Received: at(2)}, true)
	wantCounts(t, m, map[string]int{"oAlerting": 1, "oWaiting": 3, "oInteracting": 5, "oOnQueueUsers": 8, "oActiveUsers": 11, "oMemberUsers": 14})
	// A notification of only the metric that changed leaves the others.
	wantApply(t, m, Notification{Topic: topic, Body: observationBody("t/t", metric("oWaiting", 4)), Received: at(5)}, true)
	wantCounts(t, m, map[string]int{"oWaiting": 4, "oInteracting": 5, "oOnQueueUsers": 8})
	wantApply(t, m, Notification{Topic: topic, Body: observationBody("t/t", metric("oWaiting", 4)), Received: at(6)}, false)

	// A snapshot taken at 4 s, in the merged form of the REST reader:
	// it replaces everything read before it (oActiveUsers, absent from it,
	// goes), but not oWaiting, read at 5 s.
	snap := fmt.Sprintf(`{"group":{"queueId":%q},"data":[`+
		`{"group":{"queueId":%[1]q,"mediaType":"voice"},"metric":"oWaiting","stats":{"count":9}},`+
		`{"group":{"queueId":%[1]q,"mediaType":"voice"},"metric":"oInteracting","stats":{"count":6}},`+
		`{"group":{"queueId":%[1]q},"metric":"oOnQueueUsers","qualifier":"IDLE","stats":{"count":1}}]}`, mQueue)
	wantApply(t, m, Snapshot{Topic: topic, Body: json.RawMessage(snap), Taken: at(4)}, true)
	wantCounts(t, m, map[string]int{"oWaiting": 4, "oInteracting": 6, "oOnQueueUsers": 1, "oActiveUsers": -1, "oAlerting": -1})
	// An event read before the snapshot does not overwrite it.
	wantApply(t, m, Notification{Topic: topic, Body: observationBody("t/t", metric("oInteracting", 1)), Received: at(3)}, false)
	wantCounts(t, m, map[string]int{"oInteracting": 6})

	// The merged body keeps each entry's group.
	body, _ := m.Body(topic)
	var merged struct {
		Group struct{ QueueID, MediaType string }
		Data  []struct {
			Group    struct{ MediaType string }
			Interval string
			Metric   string
		}
	}
	if err := json.Unmarshal(body, &merged); err != nil {
		t.Fatalf("Body %s: %v", body, err)
	}
	var got []string
	for _, d := range merged.Data {
		got = append(got, d.Group.MediaType+"/"+d.Metric+"/"+d.Interval)
	}
	slices.Sort(got)
	want := []string{"/oOnQueueUsers/", "voice/oInteracting/", "voice/oWaiting/t/t"}
	if merged.Group.QueueID != mQueue || merged.Group.MediaType != "" || !slices.Equal(got, want) {
		t.Errorf("Body %s: entries %q, want %q", body, got, want)
	}
}

// Without read times, observation bodies are ordered by Apply.
func TestMirrorQueueObservationsByApplyOrder(t *testing.T) {
	m := NewMirror()
	topic := QueueObservationsTopic(mQueue)
	wantApply(t, m, Notification{Topic: topic, Body: observationBody("t/t", metric("oWaiting", 1), metric("oInteracting", 2))}, true)
	wantApply(t, m, Snapshot{Topic: topic, Body: json.RawMessage(`{"group":{"queueId":"` + mQueue + `","mediaType":"voice"},"data":[{"metric":"oWaiting","stats":{"count":3}}]}`)}, true)
	wantCounts(t, m, map[string]int{"oWaiting": 3, "oInteracting": -1})
	wantApply(t, m, Notification{Topic: topic, Body: observationBody("t/t", metric("oInteracting", 2))}, true)
	wantCounts(t, m, map[string]int{"oWaiting": 3, "oInteracting": 2})
	// A notification with no metric tells nothing; an empty snapshot
	// says there is nothing.
	other := QueueObservationsTopic("q2")
	wantApply(t, m, Notification{Topic: other, Body: json.RawMessage(`{"group":{"queueId":"q2"},"data":[]}`)}, false)
	wantApply(t, m, Snapshot{Topic: other, Body: json.RawMessage(`{"group":{"queueId":"q2"},"data":[]}`)}, true)
	if o, ok := m.QueueObservation("q2"); !ok || len(o.Data) != 0 || o.Group.QueueID != "q2" {
		t.Errorf("empty snapshot: %+v, %v", o, ok)
	}
	wantApply(t, m, Snapshot{Topic: topic, Body: json.RawMessage(`{"group":{"queueId":"` + mQueue + `"},"data":[]}`)}, true)
	wantCounts(t, m, map[string]int{"oWaiting": -1, "oInteracting": -1})
}

func TestMirrorIgnores(t *testing.T) {
	var m Mirror // the zero Mirror works
	presence := UserPresenceTopic(mUser)
	for _, ev := range []Event{
		Connected{ChannelID: "c"},
		Resynced{},
		Dropped{Count: 3},
		(*Notification)(nil),
		(*Snapshot)(nil),
		Notification{Topic: UserConversationsTopic(mUser), Body: json.RawMessage(`{"id":"c1"}`)},
		Notification{Topic: QueueConversationsTopic(mQueue), Body: json.RawMessage(`{"id":"c1"}`)},
		Notification{Topic: "v2.users." + mUser + "?presence&routingStatus", Body: presenceBody("Busy", at(1))},
		Notification{Topic: "v2.users.a.b.presence", Body: presenceBody("Busy", at(1))},
		Notification{Topic: "v2.users..presence", Body: presenceBody("Busy", at(1))},
		Notification{Topic: presence, Body: json.RawMessage(`{"presenceDefinition":`)},
		Notification{Topic: presence, Body: json.RawMessage(`{"modifiedDate":"2025-03-04T09:00:00Z"} {}`)},
		Notification{Topic: presence, Body: json.RawMessage(`["Busy"]`)},
		Notification{Topic: presence, Body: json.RawMessage(`null`)},
		Notification{Topic: presence},
		Snapshot{Topic: QueueObservationsTopic(mQueue), Body: json.RawMessage(`{"data":[}`)},
	} {
		if m.Apply(ev) {
			t.Errorf("Apply(%#v) = true", ev)
		}
	}
	if topics := m.Topics(); len(topics) != 0 {
		t.Fatalf("Topics = %q", topics)
	}
	if _, ok := m.Presence(mUser); ok {
		t.Error("Presence of nothing: ok")
	}
	if _, ok := m.Body(presence); ok {
		t.Error("Body of nothing: ok")
	}
}

func TestMirrorPointerEvents(t *testing.T) {
	m := NewMirror()
	wantApply(t, m, &Notification{Topic: UserPresenceTopic(mUser), Body: presenceBody("Busy", at(1))}, true)
	wantApply(t, m, &Snapshot{Topic: UserPresenceTopic(mUser), Body: presenceBody("Away", at(2))}, true)
	wantPresence(t, m, "Away")
}

// The Mirror neither keeps the caller's Body nor hands out its own.
func TestMirrorCopiesBodies(t *testing.T) {
	m := NewMirror()
	topic := UserPresenceTopic(mUser)
	in := presenceBody("Busy", at(1))
	m.Apply(Notification{Topic: topic, Body: in})
	copy(in[bytes.Index(in, []byte("Busy")):], "Away")
	wantPresence(t, m, "Busy")
	out, _ := m.Body(topic)
	copy(out[bytes.Index(out, []byte("Busy")):], "Meal")
	wantPresence(t, m, "Busy")
}

func TestMirrorTopicsAndForget(t *testing.T) {
	m := NewMirror()
	m.Apply(Notification{Topic: UserRoutingStatusTopic(mUser), Body: routingBody("IDLE", at(1))})
	m.Apply(Notification{Topic: UserPresenceTopic(mUser), Body: presenceBody("Busy", at(1))})
	m.Apply(Snapshot{Topic: QueueObservationsTopic(mQueue), Body: eventBody(t, "queue_observations.json")})
	want := []string{QueueObservationsTopic(mQueue), UserPresenceTopic(mUser), UserRoutingStatusTopic(mUser)}
	if got := m.Topics(); !slices.Equal(got, want) {
		t.Fatalf("Topics = %q, want %q", got, want)
	}
	m.Forget(UserPresenceTopic(mUser), "v2.never.seen")
	if got := m.Topics(); !slices.Equal(got, []string{want[0], want[2]}) {
		t.Fatalf("after Forget: Topics = %q", got)
	}
	if _, ok := m.Presence(mUser); ok {
		t.Fatal("forgotten presence still there")
	}
	// Forgotten state accepts any version again.
	wantApply(t, m, Notification{Topic: UserPresenceTopic(mUser), Body: presenceBody("Away", at(0))}, true)
}

// One goroutine applies while others read; run with -race. The final state
// is the newest version whatever the interleaving.
func TestMirrorConcurrentReaders(t *testing.T) {
	m := NewMirror()
	const versions = 200
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p, ok := m.Presence(mUser); ok && p.PresenceDefinition.SystemPresence != "Busy" {
					t.Errorf("read %+v", p)
					return
				}
				m.Body(QueueObservationsTopic(mQueue))
				m.Topics()
			}
		}()
	}
	for i := range versions {
		m.Apply(Notification{Topic: UserPresenceTopic(mUser), Body: presenceBody("Busy", at(i))})
		m.Apply(Notification{Topic: QueueObservationsTopic(mQueue), Body: observationBody("t/t", metric("oWaiting", i))})
	}
	close(stop)
	wg.Wait()
	if p, _ := m.Presence(mUser); !p.ModifiedDate.Equal(at(versions - 1)) {
		t.Errorf("final ModifiedDate = %v", p.ModifiedDate)
	}
	wantCounts(t, m, map[string]int{"oWaiting": versions - 1})
}

// readState reads the version exactly as decoding the body would.
func TestMirrorBodyVersionMatchesDecode(t *testing.T) {
	for _, body := range []string{
		`{"modifiedDate":"2025-03-04T09:12:31.604Z"}`,
		`{"ModifiedDate":"2025-03-04T09:12:31.604+01:00"}`,
		`{"modified\u0044ate":"2025-03-04T09:12:31Z"}`,
		`{"modifiedDate":"2025-03-04T09:12:31Z","modifiedDate":"2026-01-01T00:00:00Z"}`,
		`{"modifiedDate":null}`,
		`{"modifiedDate":"2025-03-04T09:12:31Z","modifiedDate":null}`,
		`{ "message" : "x" , "modifiedDate" : "2025-03-04T09:12:31.604Z" }`,
		`{}`,
		`{"presenceDefinition":{"systemPresence":"Busy","id":"a"},"Message":"m\u00e9","message":null}`,
		`{"presenceDefinition":{"systemPresence":"Busy"},"presenceDefinition":{"id":"b"},"presenceDefinition":null}`,
		`{"PresenceDefinition":{"SYSTEMPRESENCE":"Away","systemPresence":null,"id":"c","id":"d"}}`,
	} {
		st, ok := readState(mirrorPresence, []byte(body))
		var p UserPresence
		if err := json.Unmarshal([]byte(body), &p); err != nil || !ok || !st.version.Equal(p.ModifiedDate) {
			t.Errorf("%s: readState = %v, %v; Unmarshal = %v, %v", body, st.version, ok, p.ModifiedDate, err)
		}
		got := stateStrings(t, body, st)
		if want := []string{p.PresenceDefinition.SystemPresence, p.PresenceDefinition.ID, p.Message}; !slices.Equal(got, want) {
			t.Errorf("%s: state %q, Unmarshal %q", body, got, want)
		}
	}
	for _, body := range []string{
		`{"id":"u","routingStatus":{"status":"IDLE","startTime":"2025-03-04T09:12:40.118Z"}}`,
		`{"routingStatus":{"startTime":"2025-03-04T09:12:40Z"},"routingStatus":{"status":"IDLE"}}`,
		`{"routingStatus":null}`,
		`{"routingStatus":{"startTime":"2025-03-04T09:12:40Z"},"routingStatus":null}`,
		`{"routingStatus":{"startTime":"2025-03-04T09:12:40Z","startTime":null}}`,
		`{"routingStatus":{"status":"IDLE"},"RoutingStatus":{"Status":"INTERACTING","status":null}}`,
	} {
		st, ok := readState(mirrorRouting, []byte(body))
		var r UserRoutingStatus
		if err := json.Unmarshal([]byte(body), &r); err != nil || !ok || !st.version.Equal(r.RoutingStatus.StartTime) {
			t.Errorf("%s: readState = %v, %v; Unmarshal = %v, %v", body, st.version, ok, r.RoutingStatus.StartTime, err)
		}
		if got := stateStrings(t, body, st); got[0] != r.RoutingStatus.Status {
			t.Errorf("%s: status %q, Unmarshal %q", body, got[0], r.RoutingStatus.Status)
		}
	}
}

// stateStrings returns the strings of the state st of body.
func stateStrings(t *testing.T, body string, st bodyState) []string {
	t.Helper()
	var out []string
	for _, sp := range st.values {
		s, ok := jsonString(sp.of([]byte(body)))
		if !ok {
			t.Fatalf("%s: state value %s is not a string", body, sp.of([]byte(body)))
		}
		out = append(out, string(s))
	}
	return out
}

// BenchmarkMirrorApply measures one applied event that changes the state:
// the bodies alternate between two states of equal version, so every
// Apply scans, compares and stores.
func BenchmarkMirrorApply(b *testing.B) {
	presenceA := presenceBody("Available", at(10))
	presenceB := presenceBody("Busy", at(10))
	routingA, routingB := routingBody("IDLE", at(10)), routingBody("INTERACTING", at(10))
	obsA := observationBody("2025-03-04T09:12:41.005Z/2025-03-04T09:12:41.005Z", metric("oWaiting", 3), metric("oInteracting", 5), metric("oAlerting", 1))
	obsB := observationBody("2025-03-04T09:12:41.005Z/2025-03-04T09:12:41.005Z", metric("oWaiting", 4), metric("oInteracting", 5), metric("oAlerting", 1))
	for _, c := range []struct {
		name   string
		topic  string
		bodies [2]json.RawMessage
	}{
		{"presence", UserPresenceTopic(mUser), [2]json.RawMessage{presenceA, presenceB}},
		{"routingStatus", UserRoutingStatusTopic(mUser), [2]json.RawMessage{routingA, routingB}},
		{"observations", QueueObservationsTopic(mQueue), [2]json.RawMessage{obsA, obsB}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := NewMirror()
			evs := [2]Event{
				Notification{Topic: c.topic, Body: c.bodies[0], Received: at(1)},
				Notification{Topic: c.topic, Body: c.bodies[1], Received: at(1)},
			}
			m.Apply(evs[1])
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !m.Apply(evs[i&1]) {
					b.Fatal("no change")
				}
				i++
			}
		})
	}
	// The same presence step with the version read by decoding the whole
	// body with encoding/json, for comparison with the one-pass scan.
	b.Run("presence-decoded", func(b *testing.B) {
		m := NewMirror()
		topic := UserPresenceTopic(mUser)
		bodies := [2]json.RawMessage{presenceA, presenceB}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			var p UserPresence
			if err := json.Unmarshal(bodies[i&1], &p); err != nil {
				b.Fatal(err)
			}
			m.applyVersioned(mirrorPresence, topic, bodies[i&1], bodyState{version: p.ModifiedDate}, at(1))
			i++
		}
	})
}
