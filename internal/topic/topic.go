// Package topic knows the shape of Genesys Cloud topic names: the
// template a name is an instance of ("v2.users.{id}.presence"), the
// combined form ("v2.users.{id}?presence&routingStatus"), and a Catalog
// of templates, such as GET /api/v2/notifications/availabletopics lists,
// to match names against. The client and the fake server both use it.
package topic

import (
	"math"
	"slices"
	"strings"
)

// Param is the parameter segment that Template puts in place of an id.
const Param = "{id}"

// Template returns the template of a topic name: every segment that is an
// id becomes "{id}". A Genesys name's segments are separated by dots, and
// its first segment ("v2") is kept; a token-frame name ("/users/42/presence")
// is a path of segments separated by slashes. The combined form keeps its
// "?a&b" suffix: "v2.users.8f0e…?presence&routingStatus" is
// "v2.users.{id}?presence&routingStatus".
//
// The rule is read off the templates of the Genesys topic catalog: their
// fixed segments are words (letters, sometimes with "_", as in
// "routingStatus" or "socket_closing"), while the ids Genesys puts in their
// place are UUIDs, numbers, language codes ("en-us") or channel ids
// ("streaming-0-…"), which are not. So a segment made of ASCII letters and
// underscores only is kept and every other non-empty segment, placeholders
// such as "{userId}" included, is an id. An id that is a word, such as an
// audit entity type ("User") or a test id ("alice"), is kept as it is.
// Empty segments are kept, so a malformed name stays malformed.
func Template(name string) string {
	if strings.HasPrefix(name, "/") {
		return templateOf(name, "/", 1)
	}
	prefix, parts, combined := strings.Cut(name, "?")
	t := templateOf(prefix, ".", 1)
	if combined {
		t += "?" + parts
	}
	return t
}

// templateOf replaces the id segments of name, split by sep, from the
// segment numbered first on.
func templateOf(name, sep string, first int) string {
	segs := strings.Split(name, sep)
	changed := false
	for i := first; i < len(segs); i++ {
		if segs[i] != "" && !isWord(segs[i]) {
			segs[i] = Param
			changed = true
		}
	}
	if !changed {
		return name
	}
	return strings.Join(segs, sep)
}

// isWord reports whether s is made of ASCII letters and underscores only.
func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case, for letters
		if !('a' <= c && c <= 'z') && s[i] != '_' {
			return false
		}
	}
	return true
}

// Expand returns the topics a subscription names: for the combined form
// "prefix?a&b", "prefix.a" and "prefix.b"; for any other name, the name.
func Expand(name string) []string {
	prefix, parts, combined := strings.Cut(name, "?")
	if !combined {
		return []string{name}
	}
	names := strings.Split(parts, "&")
	for i, p := range names {
		names[i] = prefix + "." + p
	}
	return names
}

// Placeholder returns the first segment of name that is a placeholder
// ("{userId}", "{id}"), as copied from documentation, rather than an id.
// No topic of a server has one.
func Placeholder(name string) (string, bool) {
	for seg := range strings.FieldsFuncSeq(name, func(r rune) bool { return r == '.' || r == '/' || r == '?' || r == '&' }) {
		if strings.ContainsAny(seg, "{}") {
			return seg, true
		}
	}
	return "", false
}

// OnWebSocket reports whether a topic whose catalog entry lists these
// transports ("All", "Websocket", "EventBridge") can be subscribed on a
// channel: they name All or Websocket, or none are given.
func OnWebSocket(transports []string) bool {
	return len(transports) == 0 || slices.Contains(transports, "All") || slices.Contains(transports, "Websocket")
}

// isParam reports whether a template segment is a parameter, "{…}".
func isParam(seg string) bool {
	return len(seg) >= 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}

// A Catalog is a set of templates, each a dotted name whose parameter
// segments ("{id}", or any "{…}") stand for one non-empty segment. It is
// immutable and safe for concurrent use.
type Catalog struct {
	templates []string            // sorted
	segs      map[string][]string // each template's segments
	literals  map[string]int      // each template's fixed segments
}

// NewCatalog returns the catalog of the given templates.
func NewCatalog(templates []string) *Catalog {
	c := &Catalog{
		templates: slices.Compact(slices.Sorted(slices.Values(templates))),
		segs:      make(map[string][]string, len(templates)),
		literals:  make(map[string]int, len(templates)),
	}
	for _, t := range c.templates {
		segs := strings.Split(t, ".")
		c.segs[t] = segs
		for _, s := range segs {
			if !isParam(s) {
				c.literals[t]++
			}
		}
	}
	return c
}

// Len returns the number of templates.
func (c *Catalog) Len() int { return len(c.templates) }

// Match returns the template that the topic name (not the combined form:
// Expand it first) is an instance of: one with as many segments, equal
// fixed segments, and a non-empty segment for each parameter. Of several,
// it returns the one with the most fixed segments. A name with a
// placeholder matches none.
func (c *Catalog) Match(name string) (string, bool) {
	if _, ok := Placeholder(name); ok {
		return "", false
	}
	if t := Template(name); c.segs[t] != nil {
		return t, true // the common case: the ids look like ids
	}
	segs := strings.Split(name, ".")
	best, found := "", false
	for _, t := range c.templates {
		if c.fits(t, segs) && (!found || c.literals[t] > c.literals[best]) {
			best, found = t, true
		}
	}
	return best, found
}

// fits reports whether the segments of a name are an instance of t.
func (c *Catalog) fits(t string, segs []string) bool {
	ts := c.segs[t]
	if len(ts) != len(segs) {
		return false
	}
	for i, s := range ts {
		if isParam(s) {
			if segs[i] == "" {
				return false
			}
		} else if s != segs[i] {
			return false
		}
	}
	return true
}

// Nearest returns the template closest to name by edit distance, for a
// "did you mean" hint; "" if the catalog is empty. The distance is taken
// from the name's Template, and from the name itself to a template filled
// in with the name's segments, whichever is smaller, so that neither an
// id that looks like a word nor one that does not counts as a typo.
func (c *Catalog) Nearest(name string) string {
	tmpl := Template(name)
	segs := strings.Split(name, ".")
	best, bestD := "", math.MaxInt
	for _, t := range c.templates {
		d := distance(tmpl, t, bestD)
		if ts := c.segs[t]; len(ts) == len(segs) {
			filled := slices.Clone(ts)
			for i, s := range filled {
				if isParam(s) {
					filled[i] = segs[i]
				}
			}
			d = min(d, distance(name, strings.Join(filled, "."), bestD))
		}
		if d < bestD {
			best, bestD = t, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes, or
// limit if it is limit or more.
func distance(a, b string, limit int) int {
	if abs(len(a)-len(b)) >= limit {
		return limit
	}
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		least := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag, row[j] = row[j], next
			least = min(least, next)
		}
		if least >= limit {
			return limit
		}
	}
	return min(row[len(b)], limit)
}

func abs(n int) int { return max(n, -n) }
