package notifytest_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify/notifytest"
)

// tokenRequest posts form to the token endpoint with the Basic
// credentials id and secret (none if id is empty).
func (h *harness) tokenRequest(method, id, secret string, form url.Values) (*http.Response, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	body, err := readAll(resp)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, body
}

type oauthError struct {
	Error            string `json:"error"`
	Description      string `json:"description"`
	ErrorDescription string `json:"error_description"`
}

var clientCredentials = url.Values{"grant_type": {"client_credentials"}}

// restStatus returns the status of a REST request authorized with tok.
func (h *harness) restStatus(tok string) int {
	h.t.Helper()
	resp, _ := h.do(tok, http.MethodGet, channelsPath, "")
	return resp.StatusCode
}

func TestTokenURL(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	if got, want := h.srv.TokenURL(), h.srv.URL()+"/oauth/token"; got != want {
		t.Errorf("TokenURL() = %q, want %q", got, want)
	}
}

// The token source issues a fresh, distinct token with an expiry on every
// call, and the server accepts each, on REST and token-frame sockets.
func TestTokenSource(t *testing.T) {
	const life = 90 * time.Minute
	h := newHarness(t, notifytest.Config{TokenLifetime: life})
	ts := h.srv.TokenSource()
	seen := map[string]bool{}
	for range 3 {
		before := time.Now()
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken == "" || seen[tok.AccessToken] || !strings.EqualFold(tok.TokenType, "bearer") {
			t.Fatalf("token %+v, want a new bearer token", tok)
		}
		seen[tok.AccessToken] = true
		if tok.Expiry.Before(before.Add(life-time.Second)) || tok.Expiry.After(time.Now().Add(life)) {
			t.Errorf("expiry %v, want about now + %v", tok.Expiry, life)
		}
		if s := h.restStatus(tok.AccessToken); s != http.StatusOK {
			t.Errorf("REST with an issued token: status %d", s)
		}
		h.tfConnect(tok.AccessToken)
	}
	if s := h.srv.Stats(); s.TokensIssued != 3 || s.TokenRequests != 3 {
		t.Errorf("Stats() = %+v, want 3 tokens issued on 3 requests", s)
	}
}

func TestTokenEndpointAnswer(t *testing.T) {
	h := newHarness(t, notifytest.Config{ClientID: "id", ClientSecret: "s3cr3t", TokenLifetime: 1500 * time.Millisecond})
	resp, body := h.tokenRequest(http.MethodPost, "id", "s3cr3t", clientCredentials)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, %s", resp.StatusCode, body)
	}
	var got map[string]any
	decode(t, body, &got)
	if len(got) != 3 || got["token_type"] != "bearer" || got["expires_in"] != 2.0 || got["access_token"] == "" {
		t.Errorf("answer %s, want access_token, token_type bearer and expires_in 2 (rounded up)", body)
	}
}

// Refused requests get an OAuth error that never repeats the credentials.
func TestTokenEndpointErrors(t *testing.T) {
	const secret = "s3cr3t-5f3a"
	h := newHarness(t, notifytest.Config{ClientID: "client-5f3a", ClientSecret: secret})
	for _, r := range []struct {
		name, method, id, secret string
		form                     url.Values
		status                   int
		code                     string
	}{
		{"no credentials", http.MethodPost, "", "", clientCredentials, 401, "invalid_client"},
		{"wrong secret", http.MethodPost, "client-5f3a", "wrong-5f3a", clientCredentials, 401, "invalid_client"},
		{"wrong id", http.MethodPost, "other-5f3a", secret, clientCredentials, 401, "invalid_client"},
		{"no grant", http.MethodPost, "client-5f3a", secret, url.Values{}, 400, "invalid_request"},
		{"other grant", http.MethodPost, "client-5f3a", secret, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		{"GET", http.MethodGet, "client-5f3a", secret, clientCredentials, 405, "invalid_request"},
	} {
		resp, body := h.tokenRequest(r.method, r.id, r.secret, r.form)
		var e oauthError
		decode(t, body, &e)
		if resp.StatusCode != r.status || e.Error != r.code || e.Description == "" || e.ErrorDescription != e.Description {
			t.Errorf("%s: status %d, %s, want %d %s", r.name, resp.StatusCode, body, r.status, r.code)
		}
		if strings.Contains(string(body), "5f3a") {
			t.Errorf("%s: the answer %s repeats the credentials", r.name, body)
		}
	}
	if s := h.srv.Stats(); s.TokensIssued != 0 || s.TokenRequests != 6 {
		t.Errorf("Stats() = %+v", s)
	}
}

// After RefuseCredentials(true) the token source fails as x/oauth2 reports
// refused credentials; tokens issued before stay valid.
func TestRefuseCredentials(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ts := h.srv.TokenSource()
	before, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	h.srv.RefuseCredentials(true)
	for range 2 {
		_, err := ts.Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" {
			t.Fatalf("Token() = %v, want a 401 invalid_client RetrieveError", err)
		}
	}
	if s := h.restStatus(before.AccessToken); s != http.StatusOK {
		t.Errorf("REST with a token issued before: status %d", s)
	}
	h.srv.RefuseCredentials(false)
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token() after RefuseCredentials(false): %v", err)
	}
}

// FailNextOn fails the token endpoint with an OAuth error; FailNext does
// not touch it.
func TestTokenEndpointFailures(t *testing.T) {
	h := newHarness(t, notifytest.Config{})
	ts := h.srv.TokenSource()
	h.srv.FailNext(1, http.StatusServiceUnavailable, 0)
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token() with FailNext pending: %v", err)
	}
	for _, f := range []struct {
		status int
		code   string
	}{{400, "invalid_grant"}, {401, "invalid_client"}, {429, "too_many_requests"}, {503, "server_error"}} {
		h.srv.FailNextOn("/oauth/token", 1, f.status, time.Second)
		_, err := ts.Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != f.status || re.ErrorCode != f.code {
			t.Errorf("Token() = %v, want %d %s", err, f.status, f.code)
		} else if ra := re.Response.Header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want 1", ra)
		}
	}
	if _, err := ts.Token(); err != nil {
		t.Fatalf("Token() after the failures: %v", err)
	}
	// The FailNext failure is still pending for the API.
	resp, body := h.do(token, http.MethodGet, channelsPath, "")
	checkError(t, resp, body, http.StatusServiceUnavailable, "internal.server.error")
}

// Issued tokens are refused once their lifetime has passed.
func TestIssuedTokenExpires(t *testing.T) {
	h := newHarness(t, notifytest.Config{TokenLifetime: time.Second})
	tok, err := h.srv.TokenSource().Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.Expiry.IsZero() {
		t.Fatal("the token has no expiry")
	}
	waitFor(t, "the token to expire", func() bool { return h.restStatus(tok.AccessToken) == http.StatusUnauthorized })
	c := h.tfDial()
	tfWrite(t, c, map[string]string{"access_token": tok.AccessToken})
	expectRefusal(t, c, tok.AccessToken)
}

// After ExpireTokens every token accepted or issued so far is refused for
// good, on REST and token-frame sockets; tokens seen later are accepted.
func TestExpireTokensSticks(t *testing.T) {
	const restToken, tfToken = "rest-5f3a", "tf-5f3a"
	h := newHarness(t, notifytest.Config{HeartbeatInterval: -1})
	ts := h.srv.TokenSource()
	issued, err := ts.Token() // issued, never used
	if err != nil {
		t.Fatal(err)
	}
	ch := h.create(restToken)
	h.tfConnect(tfToken)

	h.srv.ExpireTokens()
	for _, tok := range []string{restToken, tfToken, issued.AccessToken} {
		for range 2 {
			if s := h.restStatus(tok); s != http.StatusUnauthorized {
				t.Errorf("REST with an expired token: status %d, want 401", s)
			}
		}
		c := h.tfDial()
		tfWrite(t, c, map[string]string{"access_token": tok})
		expectRefusal(t, c, tok)
	}
	// A new token and a newly issued one are accepted; the channel stays.
	fresh, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"new-token", fresh.AccessToken} {
		if resp, _ := h.do(tok, http.MethodHead, channelsPath+"/"+ch.ID, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD with a new token: status %d", resp.StatusCode)
		}
		h.tfConnect(tok)
	}
}
