package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
)

// loop is one way of consuming a stream of n frames from the firehose at
// base.
type loop struct {
	name string
	run  func(ctx context.Context, base string, n int) (result, error)
}

// result is what one run of a loop measured, from the first event
// received to the last.
type result struct {
	rate    float64       // events per second
	cpu     time.Duration // CPU time of this process per event
	dropped int           // notifications notify dropped
}

// measure times events: start at the first, stop at the last.
type measure struct {
	wall time.Time
	cpu  time.Duration
}

func startMeasure() measure { return measure{time.Now(), cpuTime()} }

func (m measure) result(n int) result {
	wall, cpu := time.Since(m.wall), cpuTime()-m.cpu
	return result{rate: float64(n-1) / wall.Seconds(), cpu: cpu / time.Duration(n-1)}
}

var protocolNames = [2]string{"genesys", "token-frame"}

// throughput runs every loop of both protocols runs times against one
// firehose child and adds the medians to t.
func throughput(t *table, n, runs int) error {
	fh, urls, err := startChild("-serve", 1, "-events", fmt.Sprint(n))
	if err != nil {
		return err
	}
	defer fh.stop()
	base := urls[0]

	protocols := [2][3]loop{
		{
			{"ceiling", rawLoop(rawGenesys, nil)},
			{"naive", rawLoop(rawGenesys, decodeGenesys)},
			{"notify", notifyLoop(genesysOptions)},
		},
		{
			{"ceiling", rawLoop(rawTokenFrame, nil)},
			{"naive", rawLoop(rawTokenFrame, decodeTokenFrame)},
			{"notify", notifyLoop(tokenFrameOptions)},
		},
	}
	var results [2][3][]result
	var dropped [2]int
	for r := range runs {
		for p, loops := range protocols {
			for l, lp := range loops {
				runtime.GC()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				res, err := lp.run(ctx, base, n)
				cancel()
				if err != nil {
					return fmt.Errorf("throughput %s %s: %w", protocolNames[p], lp.name, err)
				}
				dropped[p] += res.dropped
				progress("throughput run %d/%d %-11s %-7s %9.0f events/s %6.2f µs CPU/event",
					r+1, runs, protocolNames[p], lp.name, res.rate, micros(res.cpu))
				results[p][l] = append(results[p][l], res)
			}
		}
	}
	var med, cpu [2][3]float64 // events/s, µs of CPU per event
	var cells [2][3]string
	for p := range med {
		for l, rs := range results[p] {
			rates := make([]float64, len(rs))
			for i, r := range rs {
				rates[i] = r.rate
				cpu[p][l] += micros(r.cpu) / float64(len(rs))
			}
			slices.Sort(rates)
			med[p][l] = median(rates)
			cells[p][l] = evps(med[p][l])
			if len(rates) > 1 {
				cells[p][l] += fmt.Sprintf(" (%s–%s)", thousands(int64(rates[0])), thousands(int64(rates[len(rates)-1])))
			}
		}
	}
	t.add("throughput, raw coder/websocket reads (ceiling)", cells[0][0], cells[1][0])
	t.add("throughput, raw reads + encoding/json envelope (naive)", cells[0][1], cells[1][1])
	t.add("throughput, notify.Client Events()", cells[0][2], cells[1][2])
	t.add("notify / ceiling", ratio(med[0][2], med[0][0]), ratio(med[1][2], med[1][0]))
	t.add("notify / naive", ratio(med[0][2], med[0][1]), ratio(med[1][2], med[1][1]))
	t.add("notify: notifications dropped (must be 0)", fmt.Sprint(dropped[0]), fmt.Sprint(dropped[1]))
	for l, name := range []string{"ceiling", "naive", "notify"} {
		t.add("client CPU per event, "+name, cpuCell(cpu[0][l]), cpuCell(cpu[1][l]))
	}
	t.add("notify / ceiling, by CPU per event", ratio(cpu[0][0], cpu[0][2]), ratio(cpu[1][0], cpu[1][2]))
	t.add("notify / naive, by CPU per event", ratio(cpu[0][1], cpu[0][2]), ratio(cpu[1][1], cpu[1][2]))
	t.note("Throughput: median (and range) of %d runs of %s events (~%d-byte bodies) per loop, timed from the first event received to the last, "+
		"from a server in another process on loopback that batches its writes. CPU per event is the client process's user+system time, "+
		"mean of the runs: it depends far less than events/s on what else the machine runs.", runs, thousands(int64(n)), len(conversationBody))
	return nil
}

// rawLoop reads n frames from a socket opened by dial, decoding each with
// decode if it is not nil. Reads use a context without a deadline, as the
// fastest hand-written loop would; a timeout closes the socket instead.
func rawLoop(dial func(ctx context.Context, base string, n int) (*websocket.Conn, error), decode func([]byte) error) func(context.Context, string, int) (result, error) {
	return func(ctx context.Context, base string, n int) (result, error) {
		conn, err := dial(ctx, base, n)
		if err != nil {
			return result{}, err
		}
		defer conn.CloseNow()
		defer context.AfterFunc(ctx, func() { conn.CloseNow() })()
		conn.SetReadLimit(1 << 20)
		var m measure
		for i := range n {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return result{}, fmt.Errorf("frame %d: %w", i, err)
			}
			if i == 0 {
				m = startMeasure()
			}
			if decode != nil {
				if err := decode(data); err != nil {
					return result{}, err
				}
			}
		}
		res := m.result(n)
		conn.Close(websocket.StatusNormalClosure, "")
		return res, nil
	}
}

// rawGenesys creates a channel, dials it and subscribes, as in §1.
func rawGenesys(ctx context.Context, base string, n int) (*websocket.Conn, error) {
	var ch struct {
		ConnectURI string `json:"connectUri"`
		ID         string `json:"id"`
	}
	if err := rest(ctx, http.MethodPost, base+"/api/v2/notifications/channels", nil, &ch); err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, ch.ConnectURI, nil)
	if err != nil {
		return nil, err
	}
	var body []map[string]string
	for _, t := range genesysTopics() {
		body = append(body, map[string]string{"id": t})
	}
	err = rest(ctx, http.MethodPut, base+"/api/v2/notifications/channels/"+ch.ID+"/subscriptions?ignoreErrors=true", body, nil)
	if err != nil {
		conn.CloseNow()
		return nil, err
	}
	return conn, nil
}

// rawTokenFrame dials, sends the token and the topics and reads the
// answers, as in §2.
func rawTokenFrame(ctx context.Context, base string, n int) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, tokenFrameURL(base, n), nil)
	if err != nil {
		return nil, err
	}
	frames := [][]byte{[]byte(`{"access_token":"bench"}`)}
	for _, t := range tokenFrameTopics() {
		frames = append(frames, []byte(`{"topic":"`+t+`"}`))
	}
	for _, f := range frames {
		if err := conn.Write(ctx, websocket.MessageText, f); err != nil {
			conn.CloseNow()
			return nil, err
		}
		if _, _, err := conn.Read(ctx); err != nil { // connected, subscribed
			conn.CloseNow()
			return nil, err
		}
	}
	return conn, nil
}

func tokenFrameURL(base string, n int) string {
	return fmt.Sprintf("ws%s/api/v2/notifications?n=%d&k=%d", strings.TrimPrefix(base, "http"), n, len(queueIDs))
}

// The envelopes a naive client decodes.
type genesysEnvelope struct {
	TopicName string          `json:"topicName"`
	Version   string          `json:"version"`
	EventBody json.RawMessage `json:"eventBody"`
	Metadata  struct {
		CorrelationID string `json:"CorrelationId"`
	} `json:"metadata"`
}

type tokenFrameEnvelope struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

func decodeGenesys(data []byte) error {
	var e genesysEnvelope
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	if e.TopicName == "" || len(e.EventBody) == 0 || e.Metadata.CorrelationID == "" {
		return fmt.Errorf("incomplete frame %s", data)
	}
	return nil
}

func decodeTokenFrame(data []byte) error {
	var e tokenFrameEnvelope
	if err := json.Unmarshal(data, &e); err != nil {
		return err
	}
	if e.Event == "" || len(e.Data) == 0 {
		return fmt.Errorf("incomplete frame %s", data)
	}
	return nil
}

func genesysOptions(base string, n int) ([]notify.Option, []string) {
	return []notify.Option{notify.WithAPIBaseURL(base)}, genesysTopics()
}

func tokenFrameOptions(base string, n int) ([]notify.Option, []string) {
	return []notify.Option{notify.WithTokenFrameEndpoint(tokenFrameURL(base, n))}, tokenFrameTopics()
}

// notifyLoop reads n notifications from a notify.Client. Its buffer holds
// all n, so the consumer never makes the client drop; the heartbeat is
// long enough never to fire.
func notifyLoop(setup func(base string, n int) ([]notify.Option, []string)) func(context.Context, string, int) (result, error) {
	return func(ctx context.Context, base string, n int) (result, error) {
		opts, topics := setup(base, n)
		opts = append(opts, notify.WithEventBuffer(n), notify.WithHeartbeatTimeout(time.Hour))
		c, err := notify.New(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "bench"}), opts...)
		if err != nil {
			return result{}, err
		}
		if err := c.Subscribe(ctx, topics...); err != nil {
			return result{}, err
		}
		runErr := make(chan error, 1)
		go func() { runErr <- c.Run(ctx) }()
		defer func() { c.Close(); <-runErr }()

		var m measure
		got, dropped := 0, 0
		for ev := range c.Events() { // closed by Close, or when ctx ends
			switch ev := ev.(type) {
			case notify.Notification:
				if got == 0 {
					m = startMeasure()
				}
				got++
			case notify.Dropped:
				got += ev.Count
				dropped += ev.Count
			case notify.Disconnected:
				return result{}, fmt.Errorf("disconnected after %d events: %w", got, ev.Err)
			case notify.Rejected:
				return result{}, fmt.Errorf("topic rejected: %s", ev.Topic)
			}
			if got >= n {
				res := m.result(n)
				res.dropped = dropped
				return res, nil
			}
		}
		return result{}, fmt.Errorf("events closed after %d of %d (last error: %v)", got, n, c.Stats().LastError)
	}
}

// rest sends one JSON request and decodes the JSON answer into out.
func rest(ctx context.Context, method, url string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		json.NewEncoder(&body).Encode(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// median is the median of sorted values.
func median(s []float64) float64 {
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// evps formats a rate, such as "812,400 events/s".
func evps(rate float64) string {
	return thousands(int64(rate+0.5)) + " events/s"
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func cpuCell(us float64) string {
	if us == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f µs", us)
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func thousands(v int64) string {
	s := fmt.Sprint(v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
