package notifytest

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gcnotify/notify/internal/topic"
)

// AvailableTopic is a topic template of the server's catalog, as
// GET /api/v2/notifications/availabletopics lists it (the SDKs'
// AvailableTopic model, without the fields the server has no data for).
type AvailableTopic struct {
	// ID is the template, such as "v2.users.{id}.presence": each "{id}"
	// (any "{…}") stands for one non-empty segment of a topic name.
	ID string `json:"id"`
	// Description says what the topic carries.
	Description string `json:"description,omitempty"`
	// RequiresPermissions lists the permissions a subscriber needs. The
	// server does not enforce them: Config.Permit decides.
	RequiresPermissions []string `json:"requiresPermissions,omitempty"`
	// Transports lists what delivers the topic's events: "All",
	// "Websocket" or "EventBridge". A topic whose transports lack "All"
	// and "Websocket" cannot be subscribed on a channel. Empty means "All".
	Transports []string `json:"transports,omitempty"`
	// TopicParameters names the template's "{id}" parts, in order.
	TopicParameters []string `json:"topicParameters,omitempty"`
	// Visibility is "Public" or "Preview"; empty means "Public".
	Visibility string `json:"visibility,omitempty"`
}

// OnWebSocket reports whether a channel can carry the topic's events.
func (t AvailableTopic) OnWebSocket() bool {
	return topic.OnWebSocket(t.Transports)
}

//go:embed availabletopics.json
var availableTopicsJSON []byte

// AvailableTopics returns the server's built-in catalog: the templates of
// the official SDKs' topic maps and of Genesys's EventBridge examples, in
// order of their ids. See the package documentation, "Topic catalog".
func AvailableTopics() []AvailableTopic {
	var v entities[AvailableTopic]
	if err := json.Unmarshal(availableTopicsJSON, &v); err != nil {
		panic("notifytest: availabletopics.json: " + err.Error())
	}
	return v.Entities
}

// topicCatalog is the catalog a server serves and checks subscriptions
// against: the built-in one with Config.Topics added. It is immutable.
type topicCatalog struct {
	list  []AvailableTopic          // sorted by id
	byID  map[string]AvailableTopic // by template
	match *topic.Catalog
}

// newTopicCatalog returns the built-in catalog with extra added; an extra
// template replaces a built-in one with the same id.
func newTopicCatalog(extra []AvailableTopic) *topicCatalog {
	c := &topicCatalog{byID: map[string]AvailableTopic{}}
	for _, t := range slices.Concat(AvailableTopics(), extra) {
		c.byID[t.ID] = t
	}
	ids := make([]string, 0, len(c.byID))
	for id := range c.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.list = append(c.list, c.byID[id])
	}
	c.match = topic.NewCatalog(ids)
	return c
}

// refuse returns why a channel cannot subscribe to the topic (an expanded
// name, not the combined form), or "" if it can.
func (c *topicCatalog) refuse(name string) string {
	id, ok := c.match.Match(name)
	switch {
	case !ok:
		return "Topic " + name + " matches no available topic (GET /api/v2/notifications/availabletopics)."
	case !c.byID[id].OnWebSocket():
		return "Topic " + name + " (" + id + ") is not available on a WebSocket channel; its transports are " +
			strings.Join(c.byID[id].Transports, ", ") + "."
	}
	return ""
}

// expandable lists the values of expand that the server accepts, and the
// field each one adds to an entity; "" for fields it has no data for.
var expandable = map[string]string{
	"description": "description", "requiresPermissions": "requiresPermissions", "transports": "transports",
	"topicParameters": "topicParameters", "visibility": "visibility",
	"enforced": "", "schema": "", "publicApiTemplateUriPaths": "", "permissionDetails": "",
}

// GET /api/v2/notifications/availabletopics?expand=…&includePreview=…
func (s *Server) availableTopics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	s.count(&s.stats.TopicCatalogReads)
	q := r.URL.Query()
	fields := map[string]bool{}
	for _, v := range q["expand"] {
		for e := range strings.SplitSeq(v, ",") {
			f, ok := expandable[e]
			if !ok {
				badRequest(w, "Unknown expand value "+strconv.Quote(e)+".")
				return
			}
			fields[f] = true
		}
	}
	preview := true
	if v := q.Get("includePreview"); v != "" {
		var err error
		if preview, err = strconv.ParseBool(v); err != nil {
			badRequest(w, "includePreview must be true or false.")
			return
		}
	}
	body := entities[availableTopicJSON]{Entities: []availableTopicJSON{}}
	for _, t := range s.topics.list {
		if t.Visibility == "Preview" && !preview {
			continue
		}
		body.Entities = append(body.Entities, t.json(fields))
	}
	writeJSON(w, http.StatusOK, body)
}

// availableTopicJSON is an entity of the answer: id, and the fields that
// expand asked for, even when they are empty.
type availableTopicJSON struct {
	ID                  string    `json:"id"`
	Description         *string   `json:"description,omitempty"`
	RequiresPermissions *[]string `json:"requiresPermissions,omitempty"`
	Transports          *[]string `json:"transports,omitempty"`
	TopicParameters     *[]string `json:"topicParameters,omitempty"`
	Visibility          *string   `json:"visibility,omitempty"`
}

// json returns the entity of t with the fields asked for.
func (t AvailableTopic) json(fields map[string]bool) availableTopicJSON {
	e := availableTopicJSON{ID: t.ID}
	if fields["description"] {
		e.Description = &t.Description
	}
	if fields["requiresPermissions"] {
		e.RequiresPermissions = orEmpty(t.RequiresPermissions)
	}
	if fields["transports"] {
		e.Transports = orEmpty(t.Transports)
		if len(t.Transports) == 0 {
			*e.Transports = []string{"All"}
		}
	}
	if fields["topicParameters"] {
		e.TopicParameters = orEmpty(t.TopicParameters)
	}
	if fields["visibility"] {
		v := cmp.Or(t.Visibility, "Public")
		e.Visibility = &v
	}
	return e
}

// orEmpty returns a pointer to s, to an empty slice for nil, so that an
// expanded field is in the answer even when it lists nothing.
func orEmpty(s []string) *[]string {
	if s == nil {
		s = []string{}
	}
	return &s
}
