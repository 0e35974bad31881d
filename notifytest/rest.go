package notifytest

import (
	"encoding/json"
	"net/http"
	"strings"
)

const (
	apiPrefix         = "/api/v2/notifications/channels"
	socketPrefix      = "/channels/"
	tokenFramePath    = "/api/v2/notifications" // the token-frame WebSocket
	usersPath         = "/api/v2/users"
	observationsPath  = "/api/v2/analytics/queues/observations/query"
	catalogPath       = "/api/v2/notifications/availabletopics"
	correlationHeader = "ININ-Correlation-Id"
	maxBodySize       = 1 << 20
)

// errorJSON is the body of every non-2xx REST response.
type errorJSON struct {
	Message   string `json:"message"`
	Code      string `json:"code"`
	Status    int    `json:"status"`
	ContextID string `json:"contextId"`
	Details   []any  `json:"details"`
	Errors    []any  `json:"errors"`
}

// serveHTTP dispatches every request: the socket upgrades, the token
// endpoint and the REST API. Every answer carries an ININ-Correlation-Id
// header; the contextId of an error body repeats it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(correlationHeader, newUUID())
	p := r.URL.Path
	if id, ok := strings.CutPrefix(p, socketPrefix); ok && id != "" && !strings.Contains(id, "/") {
		if !s.injectUpgradeFailure(w) {
			s.serveSocket(w, r, id)
		}
		return
	}
	if p == tokenFramePath {
		if !s.injectUpgradeFailure(w) {
			s.serveTokenFrame(w, r)
		}
		return
	}
	if p == tokenPath {
		if !s.injectFailure(w, r, false) {
			s.serveToken(w, r)
		}
		return
	}
	if s.injectFailure(w, r, true) {
		return
	}
	token, ok := bearerToken(r)
	if !ok || !s.authorize(token) {
		writeError(w, http.StatusUnauthorized, "bad.credentials", "Invalid login credentials.")
		return
	}
	switch {
	case p == apiPrefix || strings.HasPrefix(p, apiPrefix+"/"):
		s.serveChannels(w, r, token, strings.TrimPrefix(p, apiPrefix))
	case p == catalogPath:
		s.availableTopics(w, r)
	case p == usersPath || strings.HasPrefix(p, usersPath+"/"):
		s.serveUsers(w, r, strings.TrimPrefix(p, usersPath))
	case p == observationsPath:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		s.queryObservations(w, r)
	default:
		notFound(w, r)
	}
}

// serveChannels serves the requests under /api/v2/notifications/channels;
// rest is the path after that prefix.
func (s *Server) serveChannels(w http.ResponseWriter, r *http.Request, token, rest string) {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case rest == "" || rest == "/":
		switch r.Method {
		case http.MethodPost:
			s.createChannel(w, token)
		case http.MethodGet:
			s.listChannels(w, r, token)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case len(parts) == 1:
		if r.Method != http.MethodHead {
			methodNotAllowed(w, "HEAD")
			return
		}
		s.headChannel(w, parts[0], token)
	case len(parts) == 2 && parts[1] == "subscriptions":
		id := parts[0]
		switch r.Method {
		case http.MethodGet:
			s.getSubscriptions(w, id, token)
		case http.MethodPut:
			s.updateSubscriptions(w, r, id, token, true)
		case http.MethodPost:
			s.updateSubscriptions(w, r, id, token, false)
		case http.MethodDelete:
			s.deleteSubscriptions(w, r, id, token)
		default:
			methodNotAllowed(w, "GET, PUT, POST, DELETE")
		}
	default:
		notFound(w, r)
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError writes the Genesys error body; its contextId is the answer's
// correlation id.
func writeError(w http.ResponseWriter, status int, code, message string) {
	cid := w.Header().Get(correlationHeader)
	if cid == "" {
		cid = newUUID()
	}
	writeJSON(w, status, errorJSON{
		Message:   message,
		Code:      code,
		Status:    status,
		ContextID: cid,
		Details:   []any{},
		Errors:    []any{},
	})
}

func badRequest(w http.ResponseWriter, message string) {
	writeError(w, http.StatusBadRequest, "bad.request", message)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "not.found", "No resource at "+r.URL.Path)
}

func channelNotFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "not.found", "Channel "+id+" not found.")
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method.not.allowed", "Allowed methods: "+allow+".")
}
