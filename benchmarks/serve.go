package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/notifytest"
)

// The firehose server (-serve) speaks just enough of both protocols to
// hand a client a stream of N frames as fast as one connection can carry
// them. N is the "n" query parameter of the socket URL: the connectUri
// that the channel POST returns carries ?n= (from the POST's own ?n=, or
// the child's -events), and a token-frame client dials
// /api/v2/notifications?n=N&k=K, where K is the number of topics it
// subscribes before the stream starts. The stream's frames are batched
// into large writes (see batchConn) so that the server outruns the client.

// queueIDs name the topics the clients subscribe; the frames cycle them.
var queueIDs = []string{
	"5f3b7c1a-2d4e-4f60-8a9b-0c1d2e3f4a5b",
	"a8e4d2c0-1b3f-4e5d-9c7a-6b8d0f2e4c6a",
	"0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f",
	"7d6c5b4a-3f2e-4d1c-9b0a-8f7e6d5c4b3a",
}

func genesysTopics() []string {
	var ts []string
	for _, q := range queueIDs {
		ts = append(ts, "v2.routing.queues."+q+".conversations")
	}
	return ts
}

func tokenFrameTopics() []string {
	var ts []string
	for _, q := range queueIDs {
		ts = append(ts, "/routing/queues/"+q+"/conversations")
	}
	return ts
}

// conversationBody is a realistic eventBody of a queue conversations
// topic: a customer call waiting on a queue.
const conversationBody = `{"id":"3c8f2e1a-9b7d-4c5e-8f6a-1d2b3c4e5f60","participants":[` +
	`{"id":"e1d2c3b4-a596-4788-99aa-bbccddeeff00","purpose":"customer","address":"tel:+13175550123",` +
	`"calls":[{"state":"connected"}]},` +
	`{"id":"f0e1d2c3-b4a5-4697-8899-aabbccddeeff","purpose":"acd",` +
	`"queueId":"5f3b7c1a-2d4e-4f60-8a9b-0c1d2e3f4a5b"}]}`

// genesysFrame is a pre-built event frame whose CorrelationId ends in 12
// hex digits that stamp overwrites with the frame's number, so that every
// frame of a stream carries a distinct id without building N frames.
type genesysFrame struct {
	b  []byte
	at int // offset of the 12 digits
}

func newGenesysFrame(topic string) genesysFrame {
	head := `{"topicName":"` + topic + `","version":"2","eventBody":` + conversationBody +
		`,"metadata":{"CorrelationId":"c0ffee00-0000-4000-8000-`
	return genesysFrame{b: []byte(head + `000000000000"}}`), at: len(head)}
}

func (f genesysFrame) stamp(n int) []byte {
	const hex = "0123456789abcdef"
	for i := 11; i >= 0; i-- {
		f.b[f.at+i] = hex[n&15]
		n >>= 4
	}
	return f.b
}

func tokenFrame(topic string) []byte {
	return []byte(`{"event":"` + topic + `","data":` + conversationBody + `}`)
}

type firehose struct {
	defaultN int

	mu       sync.Mutex
	seq      int
	channels map[string]*fhChannel
}

// fhChannel is a channel whose socket streams once it is subscribed.
type fhChannel struct {
	once       sync.Once
	subscribed chan struct{} // closed by the first PUT
	topics     []string      // set by the first PUT
}

func serveFirehose(defaultN int) {
	f := &firehose{defaultN: defaultN, channels: map[string]*fhChannel{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/notifications/channels", f.createChannel)
	mux.HandleFunc("PUT /api/v2/notifications/channels/{id}/subscriptions", f.putSubscriptions)
	mux.HandleFunc("GET /channels/{id}", f.channelSocket)
	mux.HandleFunc("GET /api/v2/notifications", f.tokenFrameSocket)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("http://" + ln.Addr().String())
	go http.Serve(ln, mux)
	untilStdinCloses()
}

func (f *firehose) createChannel(w http.ResponseWriter, r *http.Request) {
	n := queryInt(r, "n", f.defaultN)
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("firehose-%d", f.seq)
	f.channels[id] = &fhChannel{subscribed: make(chan struct{})}
	f.mu.Unlock()
	writeJSON(w, map[string]string{
		"connectUri": fmt.Sprintf("ws://%s/channels/%s?n=%d", r.Host, id, n),
		"id":         id,
		"expires":    time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	})
}

func (f *firehose) channel(id string) *fhChannel {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.channels[id]
}

func (f *firehose) putSubscriptions(w http.ResponseWriter, r *http.Request) {
	ch := f.channel(r.PathValue("id"))
	var req []struct {
		ID string `json:"id"`
	}
	if ch == nil || json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, `{"message":"no such channel or bad body"}`, http.StatusNotFound)
		return
	}
	type entity struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	resp := struct {
		Entities []entity `json:"entities"`
	}{Entities: []entity{}}
	var topics []string
	for _, t := range req {
		resp.Entities = append(resp.Entities, entity{t.ID, "Permitted"})
		topics = append(topics, t.ID)
	}
	writeJSON(w, resp)
	ch.once.Do(func() {
		ch.topics = topics
		close(ch.subscribed)
	})
}

// channelSocket streams n frames once the channel is subscribed, then
// waits for the client to close the socket.
func (f *firehose) channelSocket(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ch := f.channel(id)
	if ch == nil {
		http.NotFound(w, r)
		return
	}
	defer func() {
		f.mu.Lock()
		delete(f.channels, id)
		f.mu.Unlock()
	}()
	conn, bc, err := accept(w, r)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	closed := discardReads(conn)
	select {
	case <-ch.subscribed:
	case <-closed:
		return
	case <-time.After(time.Minute):
		return
	}
	var frames []genesysFrame
	for _, t := range ch.topics[:min(len(ch.topics), 4)] {
		frames = append(frames, newGenesysFrame(t))
	}
	if len(frames) == 0 {
		return
	}
	ctx := context.Background() // no deadline: a deadline costs a timer per Write
	bc.batch(true)
	for i := range queryInt(r, "n", f.defaultN) {
		if conn.Write(ctx, websocket.MessageText, frames[i%len(frames)].stamp(i)) != nil {
			return
		}
	}
	if bc.batch(false) != nil {
		return
	}
	<-closed
}

// tokenFrameSocket answers the token frame and K topic frames, then
// streams n frames and waits for the client to close the socket.
func (f *firehose) tokenFrameSocket(w http.ResponseWriter, r *http.Request) {
	n, k := queryInt(r, "n", f.defaultN), queryInt(r, "k", 1)
	conn, bc, err := accept(w, r)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	var subscribed []string
	for len(subscribed) < k {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var m struct {
			AccessToken string `json:"access_token"`
			Topic       string `json:"topic"`
		}
		if json.Unmarshal(data, &m) != nil {
			return
		}
		var reply []byte
		switch {
		case m.AccessToken != "":
			reply = []byte(`{"event":"connected"}`)
		case m.Topic != "":
			reply, _ = json.Marshal(map[string]any{"event": "subscribed", "data": map[string]string{"topic": m.Topic}})
			if !slices.Contains(subscribed, m.Topic) {
				subscribed = append(subscribed, m.Topic)
			}
		default:
			continue
		}
		if conn.Write(ctx, websocket.MessageText, reply) != nil {
			return
		}
	}
	closed := discardReads(conn)
	var frames [][]byte
	for _, t := range subscribed[:min(len(subscribed), 4)] {
		frames = append(frames, tokenFrame(t))
	}
	bc.batch(true)
	for i := range n {
		if conn.Write(context.Background(), websocket.MessageText, frames[i%len(frames)]) != nil {
			return
		}
	}
	if bc.batch(false) != nil {
		return
	}
	<-closed
}

// accept is websocket.Accept on a connection whose writes can be batched.
func accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, *batchConn, error) {
	h := &hijacker{ResponseWriter: w}
	conn, err := websocket.Accept(h, r, nil)
	return conn, h.conn, err
}

// hijacker hands coder/websocket a batchConn instead of the raw connection.
type hijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c}
	return h.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(h.conn)), nil
}

// batchConn coalesces the writes of a stream into 64 KiB system calls.
// coder/websocket flushes every message: one system call per frame would
// make the server, not the client under test, the bottleneck.
type batchConn struct {
	net.Conn
	mu  sync.Mutex
	buf *bufio.Writer // non-nil while batching
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		return c.buf.Write(p)
	}
	return c.Conn.Write(p)
}

// batch starts batching, or flushes and stops it.
func (c *batchConn) batch(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.buf = bufio.NewWriterSize(c.Conn, 64<<10)
		return nil
	}
	err := c.buf.Flush()
	c.buf = nil
	return err
}

// discardReads reads and drops the client's frames, which also answers its
// pings and close frame; the channel is closed when the socket is.
func discardReads(conn *websocket.Conn) <-chan struct{} {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return closed
}

func queryInt(r *http.Request, name string, def int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveNotifytest (-serve-notifytest) runs a notifytest.Server and prints
// its API base URL and its token-frame URL.
func serveNotifytest() {
	// Each idle client's token is an app of its own: Genesys allows 20
	// channels per app, and the memory section runs a thousand clients.
	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: 30 * time.Second, App: func(token string) string { return token }})
	fmt.Println(srv.URL())
	fmt.Println(srv.TokenFrameURL())
	untilStdinCloses() // then exit: the process's end closes every socket
}
