package notifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/gcnotify/notify/notifytest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	token        = "token"
	channelsPath = "/api/v2/notifications/channels"
	// timeout bounds every wait of the tests; it is only reached on failure.
	timeout = 10 * time.Second
)

// harness is a Server with an HTTP client for its REST API.
type harness struct {
	t   testing.TB
	srv *notifytest.Server
	hc  *http.Client
}

func newHarness(t testing.TB, cfg notifytest.Config) *harness {
	t.Helper()
	srv := notifytest.NewServer(cfg)
	tr := &http.Transport{}
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return &harness{t: t, srv: srv, hc: &http.Client{Transport: tr, Timeout: timeout}}
}

// do sends a REST request authorized with tok (none if empty) and returns
// the response, whose body has been read into body.
func (h *harness) do(tok, method, path, reqBody string) (resp *http.Response, body []byte) {
	h.t.Helper()
	var r io.Reader
	if reqBody != "" {
		r = strings.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, h.srv.URL()+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if reqBody != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err = h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, body
}

// doStatus is do with token that fails the test unless the status is want.
func (h *harness) doStatus(want int, method, path, reqBody string) []byte {
	h.t.Helper()
	resp, body := h.do(token, method, path, reqBody)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, body)
	}
	return body
}

type channelInfo struct {
	ConnectURI string `json:"connectUri"`
	ID         string `json:"id"`
	Expires    string `json:"expires"`
}

// create creates a channel with tok.
func (h *harness) create(tok string) channelInfo {
	h.t.Helper()
	resp, body := h.do(tok, http.MethodPost, channelsPath, "")
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("create channel: status %d: %s", resp.StatusCode, body)
	}
	var ch channelInfo
	decode(h.t, body, &ch)
	return ch
}

// put replaces the subscriptions of the channel with topics.
func (h *harness) put(id string, topics ...string) {
	h.t.Helper()
	h.doStatus(http.StatusOK, http.MethodPut, subsPath(id), topicList(topics...))
}

// dial opens a socket on ch; it is closed when the test ends.
func (h *harness) dial(ch channelInfo) *websocket.Conn {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ch.ConnectURI, &websocket.DialOptions{HTTPClient: h.hc})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitFor polls the server state until cond holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func subsPath(id string) string {
	return channelsPath + "/" + id + "/subscriptions"
}

func topicList(topics ...string) string {
	list := make([]map[string]string, len(topics))
	for i, t := range topics {
		list[i] = map[string]string{"id": t}
	}
	b, _ := json.Marshal(list)
	return string(b)
}

func decode(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("cannot decode %s: %v", data, err)
	}
}

// event is a frame sent by the server.
type event struct {
	TopicName string          `json:"topicName"`
	Version   string          `json:"version"`
	EventBody json.RawMessage `json:"eventBody"`
	Metadata  struct {
		CorrelationID string `json:"CorrelationId"`
	} `json:"metadata"`
	raw []byte
}

type systemBody struct {
	ChannelID       string         `json:"channelId"`
	SystemTopicType string         `json:"systemTopicType"`
	CorrelationID   string         `json:"correlationId"`
	OrganizationID  string         `json:"organizationId"`
	UserID          *string        `json:"userId"`
	OAuthClientID   string         `json:"oauthClientId"`
	Reason          string         `json:"reason"`
	Message         string         `json:"message"`
	Data            map[string]any `json:"data"`
}

// read reads the next frame of c.
func read(t testing.TB, c *websocket.Conn) event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("read a %v message, want text", typ)
	}
	var e event
	decode(t, data, &e)
	e.raw = data
	return e
}

// readEvent reads the next frame of c that is not a heartbeat.
func readEvent(t testing.TB, c *websocket.Conn) event {
	t.Helper()
	for {
		e := read(t, c)
		if !isHeartbeat(e) {
			return e
		}
	}
}

func isHeartbeat(e event) bool {
	return e.TopicName == "channel.metadata" && string(e.EventBody) == `{"message":"WebSocket Heartbeat"}`
}

// readErr reads c until it fails and returns the error.
func readErr(t testing.TB, c *websocket.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("timed out waiting for the socket to close")
			}
			return err
		}
	}
}

// expectSilence fails if c receives a frame within d.
func expectSilence(t testing.TB, c *websocket.Conn, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err == nil {
		t.Fatalf("got frame %s, want none", data)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read: %v, want a timeout", err)
	}
}

func ping(t testing.TB, c *websocket.Conn) {
	t.Helper()
	write(t, c, `{"message":"ping"}`)
}

func write(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// presenceOf returns the presence topic of the user id, a topic of the
// server's catalog.
func presenceOf(id string) string {
	return "v2.users." + id + ".presence"
}
