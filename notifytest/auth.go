package notifytest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenPath is the token endpoint, served on the API host (Genesys serves
// it on login.{env}).
const tokenPath = "/oauth/token"

// tokenBook is what the server knows about tokens. It is guarded by
// Server.mu.
type tokenBook struct {
	accepted map[string]struct{}  // accepted so far and not refused since
	refused  map[string]struct{}  // revoked or expired: refused for good
	issued   map[string]time.Time // issued by the token endpoint, with their expiry
	refuse   bool                 // RefuseCredentials
}

func newTokenBook() tokenBook {
	return tokenBook{
		accepted: make(map[string]struct{}),
		refused:  make(map[string]struct{}),
		issued:   make(map[string]time.Time),
	}
}

// authorize reports whether token is accepted, for a REST request or an
// access_token frame, and records it as accepted.
func (s *Server) authorize(token string) bool {
	if token == "" || !s.tokenUsable(token) || !s.cfg.Authorize(token) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, refused := s.tokens.refused[token]; refused {
		return false // revoked meanwhile
	}
	s.tokens.accepted[token] = struct{}{}
	return true
}

// tokenUsable reports whether the server has not refused token on its own:
// it is not revoked and, if the token endpoint issued it, not expired.
func (s *Server) tokenUsable(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, refused := s.tokens.refused[token]; refused {
		return false
	}
	if exp, ok := s.tokens.issued[token]; ok && !time.Now().Before(exp) {
		delete(s.tokens.issued, token)
		s.tokens.refused[token] = struct{}{}
		return false
	}
	return true
}

// revokeLocked refuses the tokens from now on. Empty tokens are ignored.
func (s *Server) revokeLocked(tokens ...string) {
	for _, t := range tokens {
		if t == "" {
			continue
		}
		delete(s.tokens.accepted, t)
		delete(s.tokens.issued, t)
		s.tokens.refused[t] = struct{}{}
	}
}

// revokeAllLocked refuses every token accepted or issued so far.
func (s *Server) revokeAllLocked() {
	for t := range s.tokens.accepted {
		s.tokens.refused[t] = struct{}{}
	}
	for t := range s.tokens.issued {
		s.tokens.refused[t] = struct{}{}
	}
	clear(s.tokens.accepted)
	clear(s.tokens.issued)
}

// TokenURL returns the OAuth token endpoint, URL()+"/oauth/token". It
// serves the client-credentials grant as login.{env}/oauth/token does: a
// POST with the form grant_type=client_credentials and the client id and
// secret in HTTP Basic authentication (each form-encoded first, as RFC 6749
// and golang.org/x/oauth2 do) answers 200 and
//
//	{"access_token":"…","token_type":"bearer","expires_in":86400}
//
// with a new, distinct token that the server accepts until it expires
// (Config.TokenLifetime). Credentials other than Config.ClientID and
// Config.ClientSecret, missing ones, and all of them after
// RefuseCredentials(true), answer 401 and
//
//	{"error":"invalid_client","description":"…","error_description":"…"}
//
// another grant type answers 400 "unsupported_grant_type", a missing one 400
// "invalid_request", and another method 405. Error answers never contain
// the credentials. FailNext does not affect the endpoint (Genesys serves it
// on another host); FailNextOn("/oauth/token", …) does, with the same
// error body, its "error" being "invalid_grant" for 400,
// "invalid_client" for 401, "too_many_requests" for 429, "server_error"
// for other 5xx statuses and "invalid_request" otherwise.
func (s *Server) TokenURL() string {
	return s.hs.URL + tokenPath
}

// TokenSource returns a token source that fetches a new token from the
// token endpoint (TokenURL) with Config.ClientID and Config.ClientSecret on
// every call of its Token method: each token is distinct, has an expiry and
// is accepted by the server. Unlike clientcredentials.Config.TokenSource it
// caches nothing, so a client that asks it again gets a fresh token. After
// RefuseCredentials(true) its Token method returns an
// *oauth2.RetrieveError with status 401 and ErrorCode "invalid_client".
func (s *Server) TokenSource() oauth2.TokenSource {
	return freshSource{
		cfg: &clientcredentials.Config{
			ClientID:     s.cfg.ClientID,
			ClientSecret: s.cfg.ClientSecret,
			TokenURL:     s.TokenURL(),
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		hc: s.hs.Client(),
	}
}

// freshSource fetches a new token on every call.
type freshSource struct {
	cfg *clientcredentials.Config
	hc  *http.Client
}

func (f freshSource) Token() (*oauth2.Token, error) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, f.hc)
	return f.cfg.Token(ctx)
}

// RefuseCredentials makes the token endpoint refuse (refuse true) or
// accept again (false) the configured client credentials, as when the
// OAuth client is deleted or its secret rotated: requests answer 401
// "invalid_client". Tokens issued before stay valid.
func (s *Server) RefuseCredentials(refuse bool) {
	s.mu.Lock()
	s.tokens.refuse = refuse
	s.mu.Unlock()
}

// oauthError is the body of the token endpoint's error answers.
type oauthError struct {
	Error            string `json:"error"`
	Description      string `json:"description"`
	ErrorDescription string `json:"error_description"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, oauthError{Error: code, Description: description, ErrorDescription: description})
}

// oauthErrorCode returns the OAuth error code that an injected failure
// with status uses.
func oauthErrorCode(status int) string {
	switch {
	case status == http.StatusBadRequest:
		return "invalid_grant"
	case status == http.StatusUnauthorized:
		return "invalid_client"
	case status == http.StatusTooManyRequests:
		return "too_many_requests"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request"
}

// serveToken serves POST /oauth/token.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.TokenRequests++
	refuse := s.tokens.refuse
	s.mu.Unlock()

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint accepts POST only.")
		return
	}
	if !s.clientAuthenticated(r) || refuse {
		// The description never repeats what the client sent.
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodySize)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
		return
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "The grant_type parameter is missing.")
		return
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
		return
	}

	token := "notifytest-" + strings.ToLower(rand.Text())
	life := s.cfg.TokenLifetime
	s.mu.Lock()
	s.tokens.issued[token] = time.Now().Add(life)
	s.stats.TokensIssued++
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}{token, "bearer", int64(life / time.Second)})
}

// clientAuthenticated reports whether r carries the configured client
// credentials in its Basic authentication.
func (s *Server) clientAuthenticated(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil {
		return false
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.cfg.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.ClientSecret)) == 1
	return idOK && secretOK
}
