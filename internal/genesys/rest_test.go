package genesys

import (
	"testing"
	"time"
)

func TestParseChannel(t *testing.T) {
	ch, err := ParseChannel([]byte(`{"connectUri":"wss://streaming.mypurecloud.com/channels/streaming-0-x","id":"streaming-0-x","expires":"2026-11-28T12:41:54.707Z"}`))
	if err != nil || ch.ID != "streaming-0-x" || ch.ConnectURI != "wss://streaming.mypurecloud.com/channels/streaming-0-x" ||
		!ch.Expires.Equal(time.Date(2026, 11, 28, 12, 41, 54, 707e6, time.UTC)) {
		t.Fatalf("ParseChannel = %+v, %v", ch, err)
	}
	for _, bad := range []string{`{}`, `{"id":"x"}`, `{"id":"x","connectUri":"u","expires":"yesterday"}`, `nope`} {
		if ch, err := ParseChannel([]byte(bad)); err == nil {
			t.Errorf("ParseChannel(%s) = %+v", bad, ch)
		}
	}
}

func TestParseTopicStates(t *testing.T) {
	got, err := ParseTopicStates([]byte(`{"entities":[{"id":"v2.users.a.presence","state":"Permitted"},` +
		`{"id":"v2.users.a.workforcemanagement.adherence","state":"Rejected","rejectionReason":"no","missingPermissions":["wfm:agentAdherence:notify"]}]}`))
	if err != nil || len(got) != 2 || got[0].Rejected() || !got[1].Rejected() ||
		got[1].RejectionReason != "no" || len(got[1].MissingPermissions) != 1 {
		t.Fatalf("ParseTopicStates = %+v, %v", got, err)
	}
	if _, err := ParseTopicStates([]byte(`{"entities":[{"state":"Permitted"}]}`)); err == nil {
		t.Fatal("entity without id accepted")
	}
}

func TestDecodeError(t *testing.T) {
	e := DecodeError(429, "7", []byte(`{"message":"Rate limit exceeded","code":"too.many.requests.retry.after","status":429}`), time.Now())
	if e.Status != 429 || e.Code != "too.many.requests.retry.after" || e.Message != "Rate limit exceeded" || e.RetryAfter != 7*time.Second {
		t.Fatalf("DecodeError = %+v", e)
	}
	if e := DecodeError(502, "", []byte(`<html>bad gateway</html>`), time.Now()); e.Status != 502 || e.Code != "" {
		t.Fatalf("non-JSON body: %+v", e)
	}
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"-5":                            0,
		"soon":                          0,
		"99999999":                      time.Hour,
		"Fri, 27 Nov 2026 00:00:30 GMT": 30 * time.Second,
		"Thu, 26 Nov 2026 00:00:30 GMT": 0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// FuzzParseREST: no REST body makes the parsers panic, and what they
// accept is well formed.
func FuzzParseREST(f *testing.F) {
	f.Add([]byte(`{"connectUri":"wss://streaming.mypurecloud.com/channels/x","id":"x","expires":"2026-11-28T12:41:54.707Z"}`), "120")
	f.Add([]byte(`{"entities":[{"id":"t","state":"Rejected","missingPermissions":["p"]}]}`), "Fri, 27 Nov 2026 00:00:30 GMT")
	f.Add([]byte(`{"message":"m","code":"c","status":404}`), "")
	f.Fuzz(func(t *testing.T, body []byte, retryAfter string) {
		if ch, err := ParseChannel(body); err == nil && (ch.ID == "" || ch.ConnectURI == "") {
			t.Fatalf("accepted channel %+v", ch)
		}
		if states, err := ParseTopicStates(body); err == nil {
			for _, s := range states {
				if s.ID == "" {
					t.Fatalf("accepted entity %+v", s)
				}
			}
		}
		if e := DecodeError(500, retryAfter, body, time.Now()); e.Status != 500 || e.RetryAfter < 0 || e.RetryAfter > time.Hour {
			t.Fatalf("DecodeError = %+v", e)
		}
	})
}

func TestRoute(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/api/v2/notifications/channels", "POST /api/v2/notifications/channels"},
		{"PUT", "/api/v2/notifications/channels/streaming-0-x/subscriptions?ignoreErrors=true", "PUT /api/v2/notifications/channels/{id}/subscriptions"},
		{"HEAD", "/api/v2/notifications/channels/streaming-0-x", "HEAD /api/v2/notifications/channels/{id}"},
		{"GET", "/api/v2/users/presences/purecloud/bulk?id=a&id=b", "GET /api/v2/users/presences/purecloud/bulk"},
		{"GET", "/api/v2/notifications/availabletopics?expand=transports", "GET /api/v2/notifications/availabletopics"},
	} {
		if got := Route(c.method, c.path); got != c.want {
			t.Errorf("Route(%s, %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}
