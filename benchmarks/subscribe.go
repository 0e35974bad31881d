package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify"
)

// subscribe times one Subscribe of notify.MaxTopics topics by a new client,
// from Run until every channel has delivered Connected, and counts the
// client's HTTP requests.
func subscribe(t *table, apiURL, tokenFrameURL string) error {
	var took [2]time.Duration
	var calls [2]*countingTransport
	for p := range took {
		calls[p] = &countingTransport{next: http.DefaultTransport}
		opt := notify.WithAPIBaseURL(apiURL)
		topics := make([]string, notify.MaxTopics)
		for i := range topics {
			topics[i] = fmt.Sprintf("v2.users.00000000-0000-4000-8000-%012d.presence", i)
		}
		if p == 1 {
			opt = notify.WithTokenFrameEndpoint(tokenFrameURL)
			for i := range topics {
				topics[i] = fmt.Sprintf("/users/%d/presence", i)
			}
		}
		var err error
		took[p], err = subscribeAll(opt, &http.Client{Transport: calls[p]}, topics, fmt.Sprintf("subscribe-%d", p))
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", protocolNames[p], err)
		}
		progress("subscribe %-11s %v: %s", protocolNames[p], took[p].Round(time.Millisecond), calls[p])
	}
	t.add(fmt.Sprintf("subscribe %s topics from cold: until all %d channels delivered Connected", thousands(notify.MaxTopics), notify.MaxChannels),
		ms(took[0]), ms(took[1]))
	t.add("… HTTP requests it took", calls[0].String(), calls[1].String())
	return nil
}

func subscribeAll(opt notify.Option, hc *http.Client, topics []string, token string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := notify.New(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}), opt, notify.WithHTTPClient(hc))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- c.Run(ctx) }()
	defer func() { c.Close(); <-runErr }()
	if err := c.Subscribe(ctx, topics...); err != nil {
		return 0, err
	}
	connected := map[string]bool{}
	for ev := range c.Events() {
		switch ev := ev.(type) {
		case notify.Connected:
			connected[ev.ChannelID] = true
		case notify.Rejected:
			return 0, fmt.Errorf("topic %s rejected", ev.Topic)
		}
		if len(connected) == notify.MaxChannels {
			took := time.Since(start)
			if st := c.Stats(); st.Topics != len(topics) || len(st.Channels) != notify.MaxChannels {
				return 0, fmt.Errorf("after %d Connected: %d topics, %d channels", len(connected), st.Topics, len(st.Channels))
			}
			return took, nil
		}
	}
	return 0, fmt.Errorf("events closed after %d channels: %v", len(connected), c.Stats().LastError)
}

// countingTransport counts requests by kind.
type countingTransport struct {
	next                         http.RoundTripper
	channels, puts, dials, other atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Header.Get("Upgrade") != "":
		c.dials.Add(1)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/channels"):
		c.channels.Add(1)
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/subscriptions"):
		c.puts.Add(1)
	default:
		c.other.Add(1)
	}
	return c.next.RoundTrip(r)
}

func (c *countingTransport) String() string {
	return fmt.Sprintf("%d POST channels, %d PUT subscriptions, %d other REST, %d socket dials",
		c.channels.Load(), c.puts.Load(), c.other.Load(), c.dials.Load())
}
