package notifytest

import (
	"net/http"
	"time"
)

// timeFormat is how the API writes times.
const timeFormat = "2006-01-02T15:04:05.000Z"

// channelJSON is a channel as the REST API returns it.
type channelJSON struct {
	ConnectURI string `json:"connectUri"`
	ID         string `json:"id"`
	Expires    string `json:"expires"`
}

type entities[T any] struct {
	Entities []T `json:"entities"`
}

// POST /api/v2/notifications/channels
func (s *Server) createChannel(w http.ResponseWriter, token string) {
	app := s.cfg.App(token)
	now := time.Now()
	s.mu.Lock()
	dead := s.expireLocked(now)
	ch, evicted := s.createLocked(token, app, now)
	body := s.channelJSON(ch)
	s.mu.Unlock()
	s.noLongerSubscribed(append(dead, evicted...))
	writeJSON(w, http.StatusOK, body)
}

// GET /api/v2/notifications/channels?includechannels=token|oauthclient
func (s *Server) listChannels(w http.ResponseWriter, r *http.Request, token string) {
	var keep func(*channel) bool
	switch r.URL.Query().Get("includechannels") {
	case "", "token":
		keep = func(ch *channel) bool { return ch.token == token }
	case "oauthclient":
		app := s.cfg.App(token)
		keep = func(ch *channel) bool { return ch.app == app }
	default:
		badRequest(w, "includechannels must be token or oauthclient.")
		return
	}
	s.mu.Lock()
	dead := s.expireLocked(time.Now())
	body := entities[channelJSON]{Entities: []channelJSON{}}
	for _, ch := range s.sortedLocked(keep) {
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
		Expires:    ch.expires.UTC().Format(timeFormat),
	}
}

// HEAD /api/v2/notifications/channels/{id}
func (s *Server) headChannel(w http.ResponseWriter, id, token string) {
	if !s.useChannel(id, token) {
		channelNotFound(w, id)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// useChannel records a REST request with token on the channel id and
// reports whether the channel exists.
func (s *Server) useChannel(id, token string) bool {
	var dead []*socket
	s.mu.Lock()
	ch := s.lookupLocked(id, &dead)
	if ch != nil {
		s.touchLocked(ch, token)
	}
	s.mu.Unlock()
	s.noLongerSubscribed(dead)
	return ch != nil
}
