package genesys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/jsonscan"
	"github.com/gcnotify/notify/internal/wire"
)

// maxBody bounds every REST response body read into memory.
const maxBody = 4 << 20

// maxRetryAfter caps an absurd Retry-After, in seconds.
const maxRetryAfter = 3600

// Channel is a notification channel as the API returns it.
type Channel struct {
	ID         string    `json:"id"`
	ConnectURI string    `json:"connectUri"`
	Expires    time.Time `json:"expires"`
}

// TopicState is the verdict on one topic of a subscription request.
type TopicState struct {
	ID                 string   `json:"id"`
	State              string   `json:"state"`
	RejectionReason    string   `json:"rejectionReason"`
	MissingPermissions []string `json:"missingPermissions"`
}

// Rejected reports whether the server refused the topic.
func (t TopicState) Rejected() bool { return t.State == "Rejected" }

// API is a client of the REST endpoints. Every call draws from Budget,
// waits out a 429's Retry-After for every call, and answers a 401 by
// fetching a fresh token and trying once more; a second 401 is
// wire.ErrUnauthorized.
type API struct {
	// Base is the API base URL without the /api/v2 suffix,
	// such as https://api.mypurecloud.com.
	Base string
	// HTTP sends the requests.
	HTTP *http.Client
	// Tokens gives the bearer token to send.
	Tokens wire.Tokens
	// Budget paces the calls.
	Budget wire.Budget
	// Clock dates Retry-After headers and times requests.
	Clock clock.Clock
	// OnRequest, if not nil, is called when each request ends, answered
	// or not, with its route (see Route), the answer's status (0 if none
	// came) and how long it took on Clock, the budget's wait excluded.
	OnRequest func(route string, status int, d time.Duration)
}

// channelsPath is the path of the channels resource.
const channelsPath = "/api/v2/notifications/channels"

// Route names the route of a request for metrics: its method and its path
// without the query, a channel id replaced by {id}, such as
// "PUT /api/v2/notifications/channels/{id}/subscriptions".
func Route(method, path string) string {
	path, _, _ = strings.Cut(path, "?")
	if rest, ok := strings.CutPrefix(path, channelsPath+"/"); ok {
		path = channelsPath + "/{id}"
		if _, sub, ok := strings.Cut(rest, "/"); ok {
			path += "/" + sub
		}
	}
	return method + " " + path
}

// CreateChannel creates a new notification channel.
func (a *API) CreateChannel(ctx context.Context) (Channel, error) {
	data, err := a.do(ctx, http.MethodPost, channelsPath, nil)
	if err != nil {
		return Channel{}, err
	}
	return ParseChannel(data)
}

// PutSubscriptions replaces the channel's subscriptions with topics, using
// ignoreErrors=true so that each topic gets its own verdict.
func (a *API) PutSubscriptions(ctx context.Context, channelID string, topics []string) ([]TopicState, error) {
	return a.subscribe(ctx, http.MethodPut, channelID, topics)
}

// PostSubscriptions adds topics to the channel's subscriptions, with a
// verdict per topic.
func (a *API) PostSubscriptions(ctx context.Context, channelID string, topics []string) ([]TopicState, error) {
	return a.subscribe(ctx, http.MethodPost, channelID, topics)
}

func (a *API) subscribe(ctx context.Context, method, channelID string, topics []string) ([]TopicState, error) {
	type topic struct {
		ID string `json:"id"`
	}
	body := make([]topic, len(topics))
	for i, t := range topics {
		body[i] = topic{t}
	}
	p := channelsPath + "/" + url.PathEscape(channelID) + "/subscriptions?ignoreErrors=true"
	data, err := a.do(ctx, method, p, body)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(data, []byte(`"Rejected"`)) && jsonscan.Valid(data) {
		// Every topic permitted: a thousand verdicts need no decoding.
		return nil, nil
	}
	return ParseTopicStates(data)
}

// AvailableTopic is a template of the topic catalog, such as
// "v2.users.{id}.presence", with the transports that deliver its events
// ("All", "Websocket", "EventBridge").
type AvailableTopic struct {
	ID         string   `json:"id"`
	Transports []string `json:"transports"`
}

// AvailableTopics reads the topic catalog, preview topics included, with
// the transports of each template. The call is bounded by restTimeout.
func (a *API) AvailableTopics(ctx context.Context) ([]AvailableTopic, error) {
	ctx, cancel := context.WithTimeout(ctx, restTimeout)
	defer cancel()
	data, err := a.do(ctx, http.MethodGet, "/api/v2/notifications/availabletopics?expand=transports&includePreview=true", nil)
	if err != nil {
		return nil, err
	}
	return ParseAvailableTopics(data)
}

// ParseAvailableTopics decodes the topic catalog.
func ParseAvailableTopics(data []byte) ([]AvailableTopic, error) {
	return parseEntities(data, "topic catalog", func(t AvailableTopic) string { return t.ID })
}

// ParseChannel decodes the answer to a channel creation.
func ParseChannel(data []byte) (Channel, error) {
	var ch Channel
	if err := json.Unmarshal(data, &ch); err != nil {
		return Channel{}, fmt.Errorf("genesys: decoding channel: %w", err)
	}
	if ch.ID == "" || ch.ConnectURI == "" {
		return Channel{}, errors.New("genesys: channel lacks id or connectUri")
	}
	return ch, nil
}

// ParseTopicStates decodes the answer to a subscription request.
func ParseTopicStates(data []byte) ([]TopicState, error) {
	return parseEntities(data, "subscriptions", func(t TopicState) string { return t.ID })
}

// parseEntities decodes a listing, {"entities":[…]}, whose every entity
// has an id; what names it in errors.
func parseEntities[T any](data []byte, what string, id func(T) string) ([]T, error) {
	var resp struct {
		Entities []T `json:"entities"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("genesys: decoding %s: %w", what, err)
	}
	for _, e := range resp.Entities {
		if id(e) == "" {
			return nil, fmt.Errorf("genesys: %s entity without id", what)
		}
	}
	return resp.Entities, nil
}

// do sends one request and returns the body of a 2xx answer.
func (a *API) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	data, err := a.once(ctx, method, path, body)
	var he *wire.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		return data, err
	}
	a.Tokens.Invalidate()
	data, err = a.once(ctx, method, path, body)
	if errors.As(err, &he) && he.Status == http.StatusUnauthorized {
		return nil, fmt.Errorf("%w: %w", wire.ErrUnauthorized, err)
	}
	return data, err
}

// once sends one request within the budget.
func (a *API) once(ctx context.Context, method, path string, in []byte) ([]byte, error) {
	if err := a.Budget.Wait(ctx); err != nil {
		return nil, err
	}
	var body io.Reader
	if in != nil {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, body)
	if err != nil {
		return nil, err
	}
	tok, err := a.Tokens.Token(0)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status := 0
	if a.OnRequest != nil {
		start := a.Clock.Now()
		defer func() { a.OnRequest(Route(method, path), status, a.Clock.Now().Sub(start)) }()
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("genesys: %s %s: reading response: %w", method, req.URL.Path, err)
	}
	if status/100 != 2 {
		e := DecodeError(status, resp.Header.Get("Retry-After"), data, a.Clock.Now())
		if e.Status == http.StatusTooManyRequests {
			a.Budget.Pause(e.RetryAfter)
		}
		return nil, e
	}
	return data, nil
}

// DecodeError builds the Error of a non-2xx response from its status, its
// Retry-After header and its body. A body that is not the documented JSON
// still yields an Error with the status.
func DecodeError(status int, retryAfter string, body []byte, now time.Time) *wire.HTTPError {
	e := &wire.HTTPError{Status: status}
	var b struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if json.Unmarshal(body, &b) == nil {
		e.Code, e.Message = b.Code, b.Message
	}
	e.RetryAfter = parseRetryAfter(retryAfter, now)
	return e
}

// parseRetryAfter reads delay-seconds or an HTTP date; anything else, or
// a time in the past, is no delay.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(min(s, maxRetryAfter), 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(min(t.Sub(now), maxRetryAfter*time.Second), 0)
	}
	return 0
}
