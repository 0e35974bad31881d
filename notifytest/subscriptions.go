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

// topicJSON is an entry of a subscription list or result.
type topicJSON struct {
	ID                 string   `json:"id"`
	State              string   `json:"state,omitempty"`
	RejectionReason    string   `json:"rejectionReason,omitempty"`
	MissingPermissions []string `json:"missingPermissions,omitempty"`
}

// GET /api/v2/notifications/channels/{id}/subscriptions
func (s *Server) getSubscriptions(w http.ResponseWriter, id, token string) {
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	var topics []string
	if ch != nil {
		s.touchLocked(ch, token)
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
		body.Entities[i] = topicJSON{ID: t, State: "Permitted"}
	}
	writeJSON(w, http.StatusOK, body)
}

// PUT (replace) and POST (add) /api/v2/notifications/channels/{id}/subscriptions
func (s *Server) updateSubscriptions(w http.ResponseWriter, r *http.Request, id, token string, replace bool) {
	s.countSubscriptionCall()
	if !s.useChannel(id, token) {
		channelNotFound(w, id)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodySize))
	if err != nil {
		badRequest(w, "Cannot read the request body: "+err.Error())
		return
	}
	var req []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		badRequest(w, "The request body is not a valid list of topics: "+err.Error())
		return
	}
	ignoreErrors, _ := strconv.ParseBool(r.URL.Query().Get("ignoreErrors"))

	results := make([]topicJSON, 0, len(req))
	seen := make(map[string]bool, len(req))
	var permitted, rejected []string
	for _, t := range req {
		if t.ID == "" {
			badRequest(w, "A topic id must not be empty.")
			return
		}
		topics, ok := expandTopic(t.ID)
		if !ok {
			badRequest(w, "Invalid topic "+t.ID+".")
			return
		}
		for _, topic := range topics {
			if seen[topic] {
				continue
			}
			seen[topic] = true
			if why := s.topics.refuse(topic); why != "" {
				badRequest(w, why) // ASSUMED: the whole request fails, as with too many topics
				return
			}
			ok, reason, missing := s.cfg.Permit(topic)
			if ok {
				permitted = append(permitted, topic)
				results = append(results, topicJSON{ID: topic, State: "Permitted"})
				continue
			}
			if reason == "" {
				reason = "Permission denied"
			}
			rejected = append(rejected, topic)
			results = append(results, topicJSON{ID: topic, State: "Rejected", RejectionReason: reason, MissingPermissions: missing})
		}
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
			s.signalSubscribedLocked()
		}
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)

	switch {
	case ch == nil:
		channelNotFound(w, id)
	case tooMany:
		badRequest(w, fmt.Sprintf("A channel cannot be subscribed to more than %d topics.", s.cfg.MaxTopics))
	default:
		writeJSON(w, http.StatusOK, entities[topicJSON]{Entities: results})
	}
}

// DELETE /api/v2/notifications/channels/{id}/subscriptions answers 204
// without a body: the SDKs' deleteNotificationsChannelSubscriptions
// returns nothing.
func (s *Server) deleteSubscriptions(w http.ResponseWriter, r *http.Request, id, token string) {
	s.countSubscriptionCall()
	if err := s.awaitUpgrades(r.Context(), id); err != nil {
		writeError(w, http.StatusServiceUnavailable, "service.unavailable", "The request was interrupted: "+err.Error())
		return
	}
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	if ch != nil {
		s.touchLocked(ch, token)
		ch.topics = make(map[string]struct{})
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)

	if ch == nil {
		channelNotFound(w, id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) countSubscriptionCall() {
	s.mu.Lock()
	s.stats.SubscriptionCalls++
	s.mu.Unlock()
}
