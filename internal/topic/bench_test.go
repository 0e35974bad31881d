package topic_test

import (
	"testing"

	"github.com/gcnotify/notify/internal/topic"
	"github.com/gcnotify/notify/notifytest"
)

// catalog returns the templates of notifytest's built-in catalog.
func catalog() *topic.Catalog {
	var ids []string
	for _, t := range notifytest.AvailableTopics() {
		ids = append(ids, t.ID)
	}
	return topic.NewCatalog(ids)
}

// BenchmarkMatch is the check of one topic whose ids are UUIDs, as a
// Subscribe of 19,000 topics makes 19,000 times.
func BenchmarkMatch(b *testing.B) {
	c := catalog()
	const name = "v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presence"
	for b.Loop() {
		if _, ok := c.Match(name); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkMatchWordID is the check of a topic whose id is a word, which
// is compared with every template.
func BenchmarkMatchWordID(b *testing.B) {
	c := catalog()
	for b.Loop() {
		if _, ok := c.Match("v2.users.alice.presence"); !ok {
			b.Fatal("no match")
		}
	}
}

// BenchmarkNearest is the "did you mean" of a refused topic.
func BenchmarkNearest(b *testing.B) {
	c := catalog()
	for b.Loop() {
		if got := c.Nearest("v2.users.8f0e6a2b-7c4d-4b1e-8f2a-5d6c7b8a9e0f.presense"); got != "v2.users.{id}.presence" {
			b.Fatal(got)
		}
	}
}
