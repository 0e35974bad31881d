package notify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokens caches the caller's TokenSource and can be told to forget a token
// the server refused: x/oauth2's ReuseTokenSource cannot be forced to
// refresh, so the client keeps its own cache.
type tokens struct {
	src oauth2.TokenSource
	mu  sync.Mutex
	tok *oauth2.Token
}

// token returns a valid access token, fetching one if the cached token is
// missing, expired or was invalidated.
func (t *tokens) token(context.Context) (string, error) {
	tok, err := t.get(0)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// get returns the cached token if it stays valid for at least minLife, and
// otherwise asks the source for a new one.
func (t *tokens) get(minLife time.Duration) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok.Valid() && (t.tok.Expiry.IsZero() || time.Until(t.tok.Expiry) > minLife) {
		return t.tok, nil
	}
	tok, err := t.src.Token()
	if err != nil {
		return nil, fmt.Errorf("notify: getting a token: %w", err)
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("%w: the token source returned an empty token", ErrUnauthorized)
	}
	t.tok = tok
	return tok, nil
}

// invalidate forgets the cached token so the next call fetches a new one.
func (t *tokens) invalidate() {
	t.mu.Lock()
	t.tok = nil
	t.mu.Unlock()
}

// ClientCredentials returns a TokenSource for the OAuth client-credentials
// grant at https://login.{env}/oauth/token. Each call of its Token method
// fetches a new token; the Client caches it and asks again only when it
// expires or the server refuses it. If env is not one of Environments,
// Token returns an error that lists the valid ones.
func ClientCredentials(ctx context.Context, env, clientID, clientSecret string) oauth2.TokenSource {
	if err := checkEnvironment(env); err != nil {
		return errSource{err}
	}
	cfg := &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     "https://login." + env + "/oauth/token",
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	return freshSource{ctx, cfg}
}

type freshSource struct {
	ctx context.Context
	cfg *clientcredentials.Config
}

func (s freshSource) Token() (*oauth2.Token, error) { return s.cfg.Token(s.ctx) }

type errSource struct{ err error }

func (s errSource) Token() (*oauth2.Token, error) { return nil, s.err }
