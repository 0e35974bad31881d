package notifytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/gcnotify/notify/notifytest"
)

// rawClient is a minimal client of either protocol, like the code under
// test of a user: it connects, then subscribes, on its own goroutine, and
// sends the bodies of the events it reads on events.
type rawClient struct {
	events chan string
	done   chan error
	cancel context.CancelFunc
}

// startChannelClient creates a channel, dials it and then PUTs topic.
func startChannelClient(h *harness, topic string) *rawClient {
	return startRawClient(func(ctx context.Context) (*websocket.Conn, error) {
		var ch channelInfo
		if err := rawRequest(ctx, h, http.MethodPost, channelsPath, "", &ch); err != nil {
			return nil, err
		}
		c, _, err := websocket.Dial(ctx, ch.ConnectURI, &websocket.DialOptions{HTTPClient: h.hc})
		if err != nil {
			return nil, err
		}
		return c, rawRequest(ctx, h, http.MethodPut, subsPath(ch.ID), topicList(topic), nil)
	}, func(frame []byte) (string, bool) {
		var e event
		if json.Unmarshal(frame, &e) != nil || e.TopicName != topic {
			return "", false // heartbeats and the like
		}
		return string(e.EventBody), true
	})
}

// rawRequest sends an authorized REST request and decodes its answer into
// v, if not nil.
func rawRequest(ctx context.Context, h *harness, method, path, body string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL()+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := h.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(method + " " + path + ": " + resp.Status)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// startTokenFrameClient dials TokenFrameURL, authenticates and then
// subscribes to topic, without waiting for the answers.
func startTokenFrameClient(h *harness, topic string) *rawClient {
	return startRawClient(func(ctx context.Context) (*websocket.Conn, error) {
		c, _, err := websocket.Dial(ctx, h.srv.TokenFrameURL(), &websocket.DialOptions{HTTPClient: h.hc})
		if err != nil {
			return nil, err
		}
		for _, f := range []string{`{"access_token":"` + token + `"}`, `{"topic":"` + topic + `"}`} {
			if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
				return c, err
			}
		}
		return c, nil
	}, func(frame []byte) (string, bool) {
		var m tfMessage
		if json.Unmarshal(frame, &m) != nil || m.Event != topic {
			return "", false // connected, subscribed
		}
		return string(m.Data), true
	})
}

func startRawClient(connect func(context.Context) (*websocket.Conn, error), event func([]byte) (string, bool)) *rawClient {
	ctx, cancel := context.WithCancel(context.Background())
	rc := &rawClient{events: make(chan string, 16), done: make(chan error, 1), cancel: cancel}
	go func() {
		c, err := connect(ctx)
		if c != nil {
			defer c.CloseNow()
		}
		for err == nil {
			var frame []byte
			if _, frame, err = c.Read(ctx); err == nil {
				if body, ok := event(frame); ok {
					rc.events <- body
				}
			}
		}
		rc.done <- err
	}()
	return rc
}

// stop ends the client and waits for it.
func (rc *rawClient) stop() {
	rc.cancel()
	<-rc.done
}

// The pattern of the package documentation: wait until the client under
// test has subscribed, then publish. A client that PUTs after its dial
// returned must get the event every time.
func TestWaitSubscribedPattern(t *testing.T) {
	for name, start := range map[string]func(*harness, string) *rawClient{
		"channel":     startChannelClient,
		"token-frame": startTokenFrameClient,
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
			for i := range 200 {
				topic := "v2.users." + strconv.Itoa(i) + ".presence"
				rc := start(h, topic)
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				err := h.srv.WaitSubscribed(ctx, topic)
				cancel()
				if err != nil {
					rc.stop()
					t.Fatalf("iteration %d: WaitSubscribed: %v", i, err)
				}
				if _, n := h.srv.Publish(topic, i); n != 1 {
					rc.stop()
					t.Fatalf("iteration %d: delivered %d, want 1", i, n)
				}
				select {
				case body := <-rc.events:
					if body != strconv.Itoa(i) {
						t.Fatalf("iteration %d: got %s", i, body)
					}
				case err := <-rc.done:
					t.Fatalf("iteration %d: client ended: %v", i, err)
				}
				rc.stop()
			}
		})
	}
}

// canceled returns a context that is done: WaitSubscribed then reports
// whether the topics are subscribed now.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestWaitSubscribed(t *testing.T) {
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ch := h.create(token)
	if err := h.srv.WaitSubscribed(canceled()); err != nil {
		t.Errorf("WaitSubscribed() = %v, want nil", err)
	}

	// A channel subscribed without a socket does not count.
	h.put(ch.ID, "v2.users.1.presence", "v2.users.1.routingStatus")
	if err := h.srv.WaitSubscribed(canceled(), "v2.users.1.presence"); !errors.Is(err, context.Canceled) {
		t.Fatalf("without a socket: %v, want context.Canceled", err)
	}

	// It waits for the socket, and for each topic on any socket.
	result := make(chan error, 1)
	go func() {
		result <- h.srv.WaitSubscribed(context.Background(), "v2.users.1?presence&routingStatus", "/users/2/presence")
	}()
	c := h.dial(ch)
	tf := h.tfConnect(token)
	tfSubscribe(t, tf, "/users/2/presence")
	if err := <-result; err != nil {
		t.Fatalf("WaitSubscribed: %v", err)
	}

	// A closed socket does not count.
	c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the socket to close", func() bool { return h.srv.Stats().Open == 1 })
	if err := h.srv.WaitSubscribed(canceled(), "v2.users.1.presence"); !errors.Is(err, context.Canceled) {
		t.Fatalf("after the socket closed: %v, want context.Canceled", err)
	}
	if err := h.srv.WaitSubscribed(canceled(), "/users/2/presence"); err != nil {
		t.Fatalf("token-frame topic: %v", err)
	}

	// Close ends the wait.
	go func() { result <- h.srv.WaitSubscribed(context.Background(), "never") }()
	h.srv.Close()
	if err := <-result; err == nil {
		t.Fatal("WaitSubscribed returned nil after Close")
	}
}
