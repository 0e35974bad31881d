package genesys_test

import (
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/genesys"
	"github.com/gcnotify/notify/notifytest"
)

// The catalog is read with the transports of each template, preview
// topics included.
func TestAvailableTopics(t *testing.T) {
	s := newServer(t, http.StatusOK, `{"entities":[{"id":"v2.users.{id}.presence","transports":["All"]},`+
		`{"id":"v2.audits.entitytype.{id}.entityid.{id}","transports":["EventBridge"]},{"id":"v2.outbound.settings"}]}`)
	got, err := s.api().AvailableTopics(t.Context())
	if err != nil || len(got) != 3 || got[0].ID != "v2.users.{id}.presence" ||
		!slices.Equal(got[1].Transports, []string{"EventBridge"}) || got[2].Transports != nil {
		t.Fatalf("AvailableTopics = %+v, %v", got, err)
	}
	r, _ := s.only(t)
	if q := r.URL.Query(); r.Method != http.MethodGet || r.URL.Path != "/api/v2/notifications/availabletopics" ||
		q.Get("expand") != "transports" || q.Get("includePreview") != "true" {
		t.Fatalf("request %s %s", r.Method, r.URL)
	}
	for _, bad := range []string{`{"entities":[{"transports":["All"]}]}`, `[]`, `nope`} {
		if got, err := genesys.ParseAvailableTopics([]byte(bad)); err == nil {
			t.Errorf("ParseAvailableTopics(%s) = %+v", bad, got)
		}
	}
	if _, err := newServer(t, http.StatusForbidden, `{"status":403}`).api().AvailableTopics(t.Context()); err == nil {
		t.Fatal("a 403 read as a catalog")
	}
}

// BenchmarkAvailableTopics reads notifytest's catalog as the client does,
// and reports its size.
func BenchmarkAvailableTopics(b *testing.B) {
	srv := notifytest.NewServer(notifytest.Config{})
	defer srv.Close()
	api := &genesys.API{Base: srv.URL(), HTTP: &http.Client{}, Tokens: &staticTokens{tok: "tok"}, Budget: unlimited{}, Clock: clock.Real}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/v2/notifications/availabletopics?expand=transports&includePreview=true", nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.SetBytes(int64(len(body)))
	var n int
	for b.Loop() {
		topics, err := api.AvailableTopics(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		n = len(topics)
	}
	b.ReportMetric(float64(n), "templates")
}
