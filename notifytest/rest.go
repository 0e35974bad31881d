package notifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	apiPrefix      = "/api/v2/notifications/channels"
	socketPrefix   = "/channels/"
	tokenFramePath = "/api/v2/notifications" // the token-frame WebSocket
	maxBodySize    = 1 << 20
)

// channelJSON is a channel as the REST API returns it.
type channelJSON struct {
	ConnectURI string `json:"connectUri"`
	ID         string `json:"id"`
	Expires    string `json:"expires"`
}

// topicJSON is an entry of a subscription list or result.
type topicJSON struct {
	ID                 string   `json:"id"`
	State              string   `json:"state,omitempty"`
	RejectionReason    string   `json:"rejectionReason,omitempty"`
	MissingPermissions []string `json:"missingPermissions,omitempty"`
}

type entities[T any] struct {
	Entities []T `json:"entities"`
}

// errorJSON is the body of every non-2xx REST response.
type errorJSON struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Status    int    `json:"status"`
	ContextID string `json:"contextId"`
	Details   []any  `json:"details"`
	Errors    []any  `json:"errors"`
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if id, ok := strings.CutPrefix(r.URL.Path, socketPrefix); ok && id != "" && !strings.Contains(id, "/") {
		s.serveSocket(w, r, id)
		return
	}
	if r.URL.Path == tokenFramePath {
		s.serveTokenFrame(w, r)
		return
	}
	if s.injectFailure(w) {
		return
	}
	token, ok := bearerToken(r)
	if !ok || !s.cfg.Authorize(token) {
		writeError(w, http.StatusUnauthorized, "bad.credentials", "Invalid login credentials.")
		return
	}

	rest, ok := strings.CutPrefix(r.URL.Path, apiPrefix)
	if !ok || rest != "" && rest[0] != '/' {
		writeError(w, http.StatusNotFound, "not.found", "No resource at "+r.URL.Path)
		return
	}
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case rest == "" || rest == "/":
		switch r.Method {
		case http.MethodPost:
			s.createChannel(w, token)
		case http.MethodGet:
			s.listChannels(w, token)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case len(parts) == 1:
		if r.Method != http.MethodHead {
			methodNotAllowed(w, "HEAD")
			return
		}
		s.headChannel(w, parts[0])
	case len(parts) == 2 && parts[1] == "subscriptions":
		id := parts[0]
		switch r.Method {
		case http.MethodGet:
			s.getSubscriptions(w, id)
		case http.MethodPut:
			s.updateSubscriptions(w, r, id, true)
		case http.MethodPost:
			s.updateSubscriptions(w, r, id, false)
		case http.MethodDelete:
			s.deleteSubscriptions(w, r, id)
		default:
			methodNotAllowed(w, "GET, PUT, POST, DELETE")
		}
	default:
		writeError(w, http.StatusNotFound, "not.found", "No resource at "+r.URL.Path)
	}
}

// bearerToken returns the token of the Authorization header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// POST /api/v2/notifications/channels
func (s *Server) createChannel(w http.ResponseWriter, token string) {
	now := time.Now()
	s.mu.Lock()
	dead := s.expireLocked(now)
	ch, evicted := s.createLocked(token, now)
	body := s.channelJSON(ch)
	s.mu.Unlock()
	s.noLongerSubscribed(append(dead, evicted...))
	writeJSON(w, http.StatusOK, body)
}

// GET /api/v2/notifications/channels
func (s *Server) listChannels(w http.ResponseWriter, token string) {
	s.mu.Lock()
	dead := s.expireLocked(time.Now())
	body := entities[channelJSON]{Entities: []channelJSON{}}
	for _, ch := range s.sortedLocked(func(ch *channel) bool { return ch.token == token }) {
		body.Entities = append(body.Entities, s.channelJSON(ch))
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) channelJSON(ch *channel) channelJSON {
	return channelJSON{
		ConnectURI: s.wsURL + socketPrefix + ch.id,
		ID:         ch.id,
		Expires:    ch.expires.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
}

// HEAD /api/v2/notifications/channels/{id}
func (s *Server) headChannel(w http.ResponseWriter, id string) {
	if !s.exists(id) {
		channelNotFound(w, id)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) exists(id string) bool {
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	return ch != nil
}

// GET /api/v2/notifications/channels/{id}/subscriptions
func (s *Server) getSubscriptions(w http.ResponseWriter, id string) {
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	var topics []string
	if ch != nil {
		topics = sortedTopics(ch.topics)
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)

	if ch == nil {
		channelNotFound(w, id)
		return
	}
	body := entities[topicJSON]{Entities: make([]topicJSON, len(topics))}
	for i, t := range topics {
		body.Entities[i].ID = t
	}
	writeJSON(w, http.StatusOK, body)
}

// PUT (replace) and POST (add) /api/v2/notifications/channels/{id}/subscriptions
func (s *Server) updateSubscriptions(w http.ResponseWriter, r *http.Request, id string, replace bool) {
	s.countSubscriptionCall()
	if !s.exists(id) {
		channelNotFound(w, id)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodySize))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad.request", "Cannot read the request body: "+err.Error())
		return
	}
	var req []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		writeError(w, http.StatusBadRequest, "bad.request", "The request body is not a valid list of topics: "+err.Error())
		return
	}
	ignoreErrors, _ := strconv.ParseBool(r.URL.Query().Get("ignoreErrors"))

	results := make([]topicJSON, 0, len(req))
	seen := make(map[string]bool, len(req))
	var permitted, rejected []string
	for _, t := range req {
		if t.ID == "" {
			writeError(w, http.StatusBadRequest, "bad.request", "A topic id must not be empty.")
			return
		}
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		ok, reason, missing := s.cfg.Permit(t.ID)
		if ok {
			permitted = append(permitted, t.ID)
			results = append(results, topicJSON{ID: t.ID, State: "Permitted"})
			continue
		}
		if reason == "" {
			reason = "Permission denied"
		}
		rejected = append(rejected, t.ID)
		results = append(results, topicJSON{ID: t.ID, State: "Rejected", RejectionReason: reason, MissingPermissions: missing})
	}
	if len(rejected) > 0 && !ignoreErrors {
		writeError(w, http.StatusForbidden, "missing.any.permissions",
			"Missing permissions for topics: "+strings.Join(rejected, ", "))
		return
	}

	if err := s.awaitUpgrades(r.Context(), id); err != nil {
		writeError(w, http.StatusServiceUnavailable, "service.unavailable", "The request was interrupted: "+err.Error())
		return
	}

	var dead []*socket
	now := time.Now()
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	tooMany := false
	if ch != nil {
		next := make(map[string]struct{}, len(permitted))
		if !replace {
			for t := range ch.topics {
				next[t] = struct{}{}
			}
		}
		for _, t := range permitted {
			next[t] = struct{}{}
		}
		if len(next) > s.cfg.MaxTopics {
			tooMany = true
		} else {
			ch.topics = next
			ch.expires = now.Add(s.cfg.ChannelTTL)
			s.wakeJanitor()
		}
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)

	switch {
	case ch == nil:
		channelNotFound(w, id)
	case tooMany:
		writeError(w, http.StatusBadRequest, "bad.request",
			fmt.Sprintf("A channel cannot be subscribed to more than %d topics.", s.cfg.MaxTopics))
	default:
		writeJSON(w, http.StatusOK, entities[topicJSON]{Entities: results})
	}
}

// DELETE /api/v2/notifications/channels/{id}/subscriptions
func (s *Server) deleteSubscriptions(w http.ResponseWriter, r *http.Request, id string) {
	s.countSubscriptionCall()
	if err := s.awaitUpgrades(r.Context(), id); err != nil {
		writeError(w, http.StatusServiceUnavailable, "service.unavailable", "The request was interrupted: "+err.Error())
		return
	}
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	if ch != nil {
		ch.topics = make(map[string]struct{})
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)

	if ch == nil {
		channelNotFound(w, id)
		return
	}
	writeJSON(w, http.StatusOK, entities[topicJSON]{Entities: []topicJSON{}})
}

func (s *Server) countSubscriptionCall() {
	s.mu.Lock()
	s.stats.SubscriptionCalls++
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorJSON{
		Message:   message,
		Code:      code,
		Status:    status,
		ContextID: newUUID(),
		Details:   []any{},
		Errors:    []any{},
	})
}

func channelNotFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "not.found", "Channel "+id+" not found.")
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method.not.allowed", "Allowed methods: "+allow+".")
}
