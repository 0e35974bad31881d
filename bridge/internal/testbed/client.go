package testbed

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gcnotify/notify"
	"github.com/gcnotify/notify/notifytest"
	"golang.org/x/oauth2"
)

// tokens hands out tokens for the fake servers, which accept any.
type tokens struct{}

// Token returns a token valid for an hour.
func (tokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "testbed", Expiry: time.Now().Add(time.Hour)}, nil
}

// NewClient returns a notify client for the channel protocol of srv,
// subscribed to topics, with quick reconnects. release closes its idle
// HTTP connections; call it after the client is closed.
func NewClient(srv *notifytest.Server, log *slog.Logger, topics ...string) (c *notify.Client, release func(), err error) {
	return newClient(log, topics, notify.WithAPIBaseURL(srv.URL()))
}

// NewTokenFrameClient returns a notify client for the token-frame
// protocol of srv (topics such as "/users/1/presence"), as NewClient
// does for the channel protocol. Token-frame notifications carry no
// CorrelationId.
func NewTokenFrameClient(srv *notifytest.Server, log *slog.Logger, topics ...string) (c *notify.Client, release func(), err error) {
	return newClient(log, topics, notify.WithTokenFrameEndpoint(srv.TokenFrameURL()))
}

func newClient(log *slog.Logger, topics []string, endpoint notify.Option) (c *notify.Client, release func(), err error) {
	tr := &http.Transport{}
	opts := []notify.Option{
		endpoint,
		notify.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}),
		notify.WithBackoff(20*time.Millisecond, 500*time.Millisecond),
		notify.WithHeartbeatTimeout(10 * time.Second),
		notify.WithEventBuffer(16384),
	}
	if log != nil {
		opts = append(opts, notify.WithLogger(log))
	}
	c, err = notify.New(tokens{}, opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Subscribe(context.Background(), topics...); err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, tr.CloseIdleConnections, nil
}
