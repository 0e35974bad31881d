package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gcnotify/notify/internal/clock"
)

// tokens caches the caller's TokenSource and can be told to forget a token
// the server refused: x/oauth2's ReuseTokenSource cannot be forced to
// refresh, so the client keeps its own cache.
type tokens struct {
	src   oauth2.TokenSource
	clock clock.Clock
	mu    sync.Mutex
	tok   *oauth2.Token
}

// expiryDelta is how long before its expiry a token counts as expired, as
// in x/oauth2.
const expiryDelta = 10 * time.Second

// Token returns the cached token if it stays valid for at least minLife,
// and otherwise asks the source for a new one.
func (t *tokens) Token(minLife time.Duration) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && (t.tok.Expiry.IsZero() || t.tok.Expiry.Sub(t.clock.Now()) > max(minLife, expiryDelta)) {
		return t.tok, nil
	}
	tok, err := t.src.Token()
	if err != nil {
		if refusedCredentials(err) {
			return nil, fmt.Errorf("%w: the token endpoint refused the credentials: %w", ErrUnauthorized, err)
		}
		return nil, fmt.Errorf("notify: getting a token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: the token source returned an empty token", ErrUnauthorized)
	}
	t.tok = tok
	return tok, nil
}

// Invalidate forgets the cached token so the next call fetches a new one.
func (t *tokens) Invalidate() {
	t.mu.Lock()
	t.tok = nil
	t.mu.Unlock()
}

// refusedCredentials reports whether the token endpoint refused the
// client's credentials or grant (RFC 6749 section 5.2), which retrying
// cannot mend; other failures (network, 5xx) are worth retrying.
func refusedCredentials(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return false
	}
	switch re.Response.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized:
	default:
		return false
	}
	switch re.ErrorCode {
	case "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope":
		return true
	}
	return re.ErrorCode == "" && re.Response.StatusCode == http.StatusUnauthorized
}

// ClientCredentials returns a TokenSource for the OAuth client-credentials
// grant at https://login.{env}/oauth/token. Each call of its Token method
// fetches a new token; the Client caches it and asks again only when it
// expires or the server refuses it.
//
// env is one of Environments, or a host or URL of one, read as the
// environment: "api.mypurecloud.ie" and "https://mypurecloud.ie" are
// "mypurecloud.ie". For any other env, New fails with an error matching
// ErrUnknownEnvironment that names env and lists Environments (and Token
// returns that error).
//
// New takes the environment from it: WithEnvironment is not needed, and
// a different one is refused.
func ClientCredentials(ctx context.Context, env, clientID, clientSecret string) oauth2.TokenSource {
	env, err := environment(env)
	if err != nil {
		return errSource{err}
	}
	return credentialsSource{ctx, env, &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     "https://login." + env + "/oauth/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}}
}

// credentialsSource fetches a new token on every call.
type credentialsSource struct {
	ctx context.Context
	env string
	cfg *clientcredentials.Config
}

// Token fetches a token. A refusal's body and description never carry
// the secret, even if the server echoes it.
func (s credentialsSource) Token() (*oauth2.Token, error) {
	tok, err := s.cfg.Token(s.ctx)
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && s.cfg.ClientSecret != "" {
		re.Body = []byte(strings.ReplaceAll(string(re.Body), s.cfg.ClientSecret, "[secret]"))
		re.ErrorDescription = strings.ReplaceAll(re.ErrorDescription, s.cfg.ClientSecret, "[secret]")
	}
	return tok, err
}

// errSource is a TokenSource that can only fail, such as ClientCredentials
// for an unknown environment.
type errSource struct{ err error }

func (s errSource) Token() (*oauth2.Token, error) { return nil, s.err }

// sourceError returns the error of a token source that can only fail, for
// New to return at once rather than Run to retry forever.
func sourceError(ts oauth2.TokenSource) error {
	if s, ok := ts.(errSource); ok {
		return s.err
	}
	return nil
}
