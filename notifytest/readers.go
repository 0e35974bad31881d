package notifytest

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Limits of the state readers.
const (
	maxPresenceIDs      = 50  // ids of a bulk presence read
	maxUserIDs          = 100 // ids of a user read
	maxUserPageSize     = 500
	defaultUserPageSize = 25
	maxPredicates       = 100 // predicates of an observation query, clauses included
)

// serveUsers serves the requests under /api/v2/users; rest is the path
// after that prefix.
func (s *Server) serveUsers(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	switch {
	case rest == "":
		if r.Method == http.MethodGet {
			s.listUsers(w, r)
			return
		}
	case rest == "/presences/purecloud/bulk":
		if r.Method == http.MethodGet {
			s.bulkPresences(w, r)
			return
		}
	case len(parts) == 3 && parts[0] != "" && parts[1] == "presences" && parts[2] == "purecloud":
		if r.Method == http.MethodGet {
			s.count(&s.stats.PresenceReads)
			s.mu.Lock()
			body := s.ucUserPresenceLocked(parts[0])
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, body)
			return
		}
	case len(parts) == 2 && parts[0] != "" && parts[1] == "routingstatus":
		if r.Method == http.MethodGet {
			s.count(&s.stats.UserReads)
			s.mu.Lock()
			body := s.routingStatusLocked(parts[0])
			s.mu.Unlock()
			writeJSON(w, http.StatusOK, body)
			return
		}
	default:
		notFound(w, r)
		return
	}
	methodNotAllowed(w, "GET")
}

// count increments a counter of s.stats.
func (s *Server) count(counter *int) {
	s.mu.Lock()
	*counter++
	s.mu.Unlock()
}

// queryIDs returns the distinct values of the repeated id parameter, in
// order, or a message saying why they are not acceptable.
func queryIDs(q url.Values, limit int) ([]string, string) {
	raw := q["id"]
	if len(raw) > limit {
		return nil, "At most " + strconv.Itoa(limit) + " ids may be given."
	}
	var ids []string
	for _, id := range raw {
		if id == "" {
			return nil, "An id must not be empty."
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, ""
}

// GET /api/v2/users/presences/purecloud/bulk?id=A&id=B…
func (s *Server) bulkPresences(w http.ResponseWriter, r *http.Request) {
	s.count(&s.stats.PresenceReads)
	ids, msg := queryIDs(r.URL.Query(), maxPresenceIDs)
	if msg == "" && len(ids) == 0 {
		msg = "At least one id must be given."
	}
	if msg != "" {
		badRequest(w, msg)
		return
	}
	body := make([]ucUserPresenceJSON, len(ids))
	s.mu.Lock()
	for i, id := range ids {
		body[i] = s.ucUserPresenceLocked(id)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// userJSON is a user of GET /api/v2/users (a part of the SDKs' User).
type userJSON struct {
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	State         string             `json:"state"`
	Version       int                `json:"version"`
	RoutingStatus *routingStatusJSON `json:"routingStatus,omitempty"`
	Presence      *userPresenceJSON  `json:"presence,omitempty"`
	SelfURI       string             `json:"selfUri"`
}

// userListingJSON is the SDKs' UserEntityListing.
type userListingJSON struct {
	Entities    []userJSON `json:"entities"`
	PageSize    int        `json:"pageSize"`
	PageNumber  int        `json:"pageNumber"`
	Total       int        `json:"total"`
	PageCount   int        `json:"pageCount"`
	FirstURI    string     `json:"firstUri"`
	SelfURI     string     `json:"selfUri"`
	LastURI     string     `json:"lastUri"`
	NextURI     string     `json:"nextUri,omitempty"`
	PreviousURI string     `json:"previousUri,omitempty"`
}

// GET /api/v2/users?id=A&id=B…&expand=routingStatus&pageSize=100
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.count(&s.stats.UserReads)
	q := r.URL.Query()
	ids, msg := queryIDs(q, maxUserIDs)
	if msg != "" {
		badRequest(w, msg)
		return
	}
	pageSize, ok := intParam(q, "pageSize", defaultUserPageSize, maxUserPageSize)
	if !ok {
		badRequest(w, "pageSize must be a number from 1 to "+strconv.Itoa(maxUserPageSize)+".")
		return
	}
	pageNumber, ok := intParam(q, "pageNumber", 1, 0)
	if !ok {
		badRequest(w, "pageNumber must be a positive number.")
		return
	}
	var expand []string
	for _, e := range q["expand"] {
		expand = append(expand, strings.Split(e, ",")...)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ids) == 0 {
		ids = s.knownUsersLocked()
	}
	total := len(ids)
	pageCount := (total + pageSize - 1) / pageSize
	first := min((pageNumber-1)*pageSize, total)
	body := userListingJSON{
		Entities:   []userJSON{},
		PageSize:   pageSize,
		PageNumber: pageNumber,
		Total:      total,
		PageCount:  pageCount,
		FirstURI:   pageURI(q, 1),
		SelfURI:    pageURI(q, pageNumber),
		LastURI:    pageURI(q, max(pageCount, 1)),
	}
	if pageNumber < pageCount {
		body.NextURI = pageURI(q, pageNumber+1)
	}
	if pageNumber > 1 {
		body.PreviousURI = pageURI(q, pageNumber-1)
	}
	for _, id := range ids[first:min(first+pageSize, total)] {
		u := userJSON{ID: id, Name: "User " + id, State: "active", Version: 1, SelfURI: usersPath + "/" + id}
		if slices.Contains(expand, "routingStatus") {
			rs := s.routingStatusLocked(id)
			u.RoutingStatus = &rs
		}
		if slices.Contains(expand, "presence") {
			p := s.presenceLocked(id).userPresence()
			u.Presence = &p
		}
		body.Entities = append(body.Entities, u)
	}
	writeJSON(w, http.StatusOK, body)
}

// intParam returns the positive integer parameter name of q, def if it is
// absent; limit, if not zero, is its largest value.
func intParam(q url.Values, name string, def, limit int) (int, bool) {
	v := q.Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || limit > 0 && n > limit {
		return 0, false
	}
	return n, true
}

// pageURI returns the URI of page n of a user listing.
func pageURI(q url.Values, n int) string {
	p := maps.Clone(q)
	p.Set("pageNumber", strconv.Itoa(n))
	return usersPath + "?" + p.Encode()
}

// observationQuery is the body of an observation query (the SDKs'
// QueueObservationQuery).
type observationQuery struct {
	Filter *struct {
		Type       string                 `json:"type"`
		Predicates []observationPredicate `json:"predicates"`
		Clauses    []struct {
			Type       string                 `json:"type"`
			Predicates []observationPredicate `json:"predicates"`
		} `json:"clauses"`
	} `json:"filter"`
	Metrics       []string `json:"metrics"`
	DetailMetrics []string `json:"detailMetrics"`
}

type observationPredicate struct {
	Type      string `json:"type"`
	Dimension string `json:"dimension"`
	Operator  string `json:"operator"`
	Value     string `json:"value"`
}

// observationResultJSON is the SDKs' QueueObservationDataContainer.
type observationResultJSON struct {
	Group observationGroupJSON    `json:"group"`
	Data  []observationMetricJSON `json:"data"`
}

// POST /api/v2/analytics/queues/observations/query
func (s *Server) queryObservations(w http.ResponseWriter, r *http.Request) {
	s.count(&s.stats.ObservationQueries)
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodySize))
	if err != nil {
		badRequest(w, "Cannot read the request body: "+err.Error())
		return
	}
	var q observationQuery
	if err := json.Unmarshal(data, &q); err != nil {
		badRequest(w, "The request body is not a valid observation query: "+err.Error())
		return
	}
	queues, metrics, msg := q.check()
	if msg != "" {
		badRequest(w, msg)
		return
	}

	body := struct {
		Results []observationResultJSON `json:"results"`
	}{Results: []observationResultJSON{}}
	s.mu.Lock()
	for _, id := range queues {
		for _, conversations := range []bool{true, false} {
			var asked []string
			for _, m := range metrics {
				if slices.Contains(conversationMetrics, m) == conversations {
					asked = append(asked, m)
				}
			}
			if len(asked) > 0 {
				body.Results = append(body.Results, observationResultJSON{
					Group: observationGroup(id, conversations),
					Data:  s.observedLocked(id, asked),
				})
			}
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// observedLocked returns the values of the queue's metrics, each with all
// its qualifiers, or 0 for a metric without values.
func (s *Server) observedLocked(queueID string, metrics []string) []observationMetricJSON {
	q := s.org.queues[queueID]
	var keys []metricKey
	for k := range q {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareMetricKeys)
	var out []observationMetricJSON
	for _, m := range metrics {
		found := false
		for _, k := range keys {
			if k.metric == m {
				out = append(out, observationMetricJSON{Metric: m, Qualifier: k.qualifier, Stats: statsJSON{Count: q[k]}})
				found = true
			}
		}
		if !found {
			out = append(out, observationMetricJSON{Metric: m, Stats: statsJSON{}})
		}
	}
	return out
}

// check validates an observation query and returns the queues it names
// (in order, without repeats), the distinct metrics it asks for, or a
// message saying why it is not acceptable. Only the queueId predicates
// are evaluated: the answer covers every queue one of them names.
func (q observationQuery) check() (queues, metrics []string, msg string) {
	if q.Filter == nil {
		return nil, nil, "The filter is required."
	}
	if q.Filter.Type != "and" && q.Filter.Type != "or" {
		return nil, nil, "The filter type must be and or or."
	}
	preds := slices.Clone(q.Filter.Predicates)
	for _, c := range q.Filter.Clauses {
		if c.Type != "and" && c.Type != "or" {
			return nil, nil, "A clause type must be and or or."
		}
		preds = append(preds, c.Predicates...)
	}
	switch {
	case len(preds) == 0:
		return nil, nil, "The filter needs at least one predicate."
	case len(preds) > maxPredicates:
		return nil, nil, "A filter may have at most " + strconv.Itoa(maxPredicates) + " predicates."
	}
	for _, p := range preds {
		if p.Type != "" && p.Type != "dimension" {
			return nil, nil, "Predicate type " + p.Type + " is not supported."
		}
		if p.Dimension != "queueId" && p.Dimension != "mediaType" {
			return nil, nil, "Predicate dimension must be queueId or mediaType."
		}
		switch p.Operator {
		case "", "matches":
			if p.Value == "" {
				return nil, nil, "A matches predicate needs a value."
			}
		case "exists", "notExists":
		default:
			return nil, nil, "Predicate operator " + p.Operator + " is not supported."
		}
		if p.Dimension == "queueId" && p.Value != "" && !slices.Contains(queues, p.Value) {
			queues = append(queues, p.Value)
		}
	}
	if len(q.Metrics) == 0 {
		return nil, nil, "At least one metric is required."
	}
	for _, m := range append(slices.Clone(q.Metrics), q.DetailMetrics...) {
		if !slices.Contains(conversationMetrics, m) && !slices.Contains(agentMetrics, m) {
			return nil, nil, "Unknown metric " + m + "."
		}
	}
	for _, m := range q.Metrics {
		if !slices.Contains(metrics, m) {
			metrics = append(metrics, m)
		}
	}
	return queues, metrics, ""
}
