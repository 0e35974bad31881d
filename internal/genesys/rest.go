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
	"time"
)

// maxBody bounds every REST response body read into memory.
const maxBody = 4 << 20

// Error is a non-2xx answer from the REST API.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := "genesys: HTTP " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

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

// API is a client of the channel and subscription endpoints.
type API struct {
	// Base is the API base URL without the /api/v2 suffix,
	// such as https://api.mypurecloud.com.
	Base string
	// HTTP sends the requests.
	HTTP *http.Client
	// Token returns the bearer token to send.
	Token func(ctx context.Context) (string, error)
}

// CreateChannel creates a new notification channel.
func (a *API) CreateChannel(ctx context.Context) (Channel, error) {
	var ch Channel
	if err := a.do(ctx, http.MethodPost, "/api/v2/notifications/channels", nil, &ch); err != nil {
		return Channel{}, err
	}
	if ch.ID == "" || ch.ConnectURI == "" {
		return Channel{}, errors.New("genesys: channel response lacks id or connectUri")
	}
	return ch, nil
}

// PutSubscriptions replaces the channel's subscriptions with topics, using
// ignoreErrors=true so that each topic gets its own verdict.
func (a *API) PutSubscriptions(ctx context.Context, channelID string, topics []string) ([]TopicState, error) {
	type topic struct {
		ID string `json:"id"`
	}
	body := make([]topic, len(topics))
	for i, t := range topics {
		body[i] = topic{t}
	}
	var resp struct {
		Entities []TopicState `json:"entities"`
	}
	p := "/api/v2/notifications/channels/" + url.PathEscape(channelID) + "/subscriptions?ignoreErrors=true"
	if err := a.do(ctx, http.MethodPut, p, body, &resp); err != nil {
		return nil, err
	}
	return resp.Entities, nil
}

func (a *API) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.Base+path, body)
	if err != nil {
		return err
	}
	tok, err := a.Token(ctx)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("genesys: %s %s: reading response: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		return DecodeError(resp.StatusCode, resp.Header.Get("Retry-After"), data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("genesys: %s %s: decoding response: %w", method, req.URL.Path, err)
	}
	return nil
}

// DecodeError builds the Error of a non-2xx response from its status, its
// Retry-After header and its body. A body that is not the documented JSON
// still yields an Error with the status.
func DecodeError(status int, retryAfter string, body []byte) *Error {
	e := &Error{Status: status}
	var b struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if json.Unmarshal(body, &b) == nil {
		e.Code, e.Message = b.Code, b.Message
	}
	if s, err := strconv.Atoi(retryAfter); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
