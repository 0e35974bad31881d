package notify

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gcnotify/notify/internal/genesys"
)

var testToken = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]Option{
		"unknown environment": WithEnvironment("example.com"),
		"http off loopback":   WithAPIBaseURL("http://api.example.com"),
		"ftp":                 WithAPIBaseURL("ftp://127.0.0.1"),
		"no host":             WithAPIBaseURL("https://"),
		"credentials in URL":  WithAPIBaseURL("https://u:p@api.mypurecloud.com"),
		"nil HTTP client":     WithHTTPClient(nil),
		"initial > max":       WithBackoff(2*time.Second, time.Second),
		"zero max":            WithBackoff(0, 0),
		"negative attempts":   WithMaxAttempts(-1),
		"zero heartbeat":      WithHeartbeatTimeout(0),
		"zero buffer":         WithEventBuffer(0),
		"tiny read limit":     WithReadLimit(10),
		"nil logger":          WithLogger(nil),
		"token frame over ws": WithTokenFrameEndpoint("ws://example.com/api/v2/notifications"),
		"token frame https":   WithTokenFrameEndpoint("https://example.com/api/v2/notifications"),
		"token frame creds":   WithTokenFrameEndpoint("wss://u:p@example.com/"),
	} {
		if _, err := New(testToken, opt); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("nil token source accepted")
	}
}

func TestUnknownEnvironmentNamesTheValidOnes(t *testing.T) {
	_, err := New(testToken, WithEnvironment("mypurecloud.fr"))
	if err == nil || !strings.Contains(err.Error(), "mypurecloud.ie") {
		t.Fatalf("err = %v, want the list of environments", err)
	}
	_, err = ClientCredentials(t.Context(), "mypurecloud.fr", "id", "secret").Token()
	if err == nil || !strings.Contains(err.Error(), "usw2.pure.cloud") {
		t.Fatalf("ClientCredentials err = %v, want the list of environments", err)
	}
}

// An unknown environment fails at New, whether it came with
// ClientCredentials or WithEnvironment, with an error that names it and
// lists the regions, rather than a Run that retries forever.
func TestUnknownEnvironmentFailsAtNew(t *testing.T) {
	for _, env := range []string{"mypurecloud.eu", "", "ie", "mypurecloud", "example.com", "https://example.com",
		"mypurecloud.ie.example.com", "evil.mypurecloud.ie", "api.api.mypurecloud.ie", "https:///mypurecloud.ie"} {
		for how, newClient := range map[string]func() (*Client, error){
			"ClientCredentials": func() (*Client, error) { return New(ClientCredentials(t.Context(), env, "id", "secret")) },
			"WithEnvironment":   func() (*Client, error) { return New(testToken, WithEnvironment(env)) },
		} {
			c, err := newClient()
			if c != nil || !errors.Is(err, ErrUnknownEnvironment) {
				t.Errorf("%s(%q): New = %v, %v; want ErrUnknownEnvironment", how, env, c, err)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, strconv.Quote(env)) || strings.Contains(msg, "secret") {
				t.Errorf("%s(%q): %q does not name the environment, or names the secret", how, env, msg)
			}
			for _, e := range Environments {
				if !strings.Contains(msg, e) {
					t.Errorf("%s(%q): %q does not list %s", how, env, msg, e)
				}
			}
		}
	}
}

// A host or URL of an environment is read as the environment.
func TestEnvironmentFromHostOrURL(t *testing.T) {
	for _, env := range []string{"mypurecloud.ie", "https://mypurecloud.ie", "api.mypurecloud.ie", "https://api.mypurecloud.ie/",
		"HTTPS://Login.MyPureCloud.IE", " mypurecloud.ie\n", "https://apps.mypurecloud.ie/directory/#/", "streaming.mypurecloud.ie"} {
		ts := ClientCredentials(t.Context(), env, "id", "secret")
		cs, ok := ts.(credentialsSource)
		if !ok || cs.cfg.TokenURL != "https://login.mypurecloud.ie/oauth/token" {
			t.Errorf("ClientCredentials(%q) = %#v, want the token URL of mypurecloud.ie", env, ts)
		}
		for _, c := range []struct {
			how string
			ts  oauth2.TokenSource
			opt []Option
		}{{"ClientCredentials", ts, nil}, {"WithEnvironment", testToken, []Option{WithEnvironment(env)}}} {
			cl, err := New(c.ts, c.opt...)
			if err != nil {
				t.Errorf("%s(%q): %v", c.how, env, err)
				continue
			}
			if got := cl.cfg.apiBaseURL(); cl.cfg.env != "mypurecloud.ie" || got != "https://api.mypurecloud.ie" {
				t.Errorf("%s(%q): environment %q, API base %q; want mypurecloud.ie", c.how, env, cl.cfg.env, got)
			}
		}
	}
	if _, err := New(ClientCredentials(t.Context(), "https://mypurecloud.ie", "id", "secret"), WithEnvironment("api.mypurecloud.ie")); err != nil {
		t.Errorf("two spellings of one environment: %v", err)
	}
}

// The environment is named once: New takes it from a ClientCredentials
// source, accepts the same one again and refuses another.
func TestEnvironmentComesWithClientCredentials(t *testing.T) {
	ts := ClientCredentials(t.Context(), "mypurecloud.ie", "id", "secret")
	c, err := New(ts)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.cfg.apiBaseURL(); got != "https://api.mypurecloud.ie" {
		t.Fatalf("API base %q, want the token source's environment", got)
	}
	if _, err := New(ts, WithEnvironment("mypurecloud.ie")); err != nil {
		t.Fatalf("the same environment again: %v", err)
	}
	if _, err := New(ts, WithEnvironment("mypurecloud.de")); err == nil || !strings.Contains(err.Error(), "mypurecloud.ie") {
		t.Fatalf("another environment: %v, want an error naming both", err)
	}
}

func TestStreamURLCheck(t *testing.T) {
	c, err := New(testToken, WithEnvironment("mypurecloud.de"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.cfg.apiBaseURL(); got != "https://api.mypurecloud.de" {
		t.Fatalf("API base %q", got)
	}
	local, err := New(testToken, WithAPIBaseURL("http://127.0.0.1:8080/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		c   *Client
		url string
		ok  bool
	}{
		{c, "wss://streaming.mypurecloud.de/channels/x", true},
		{c, "wss://streaming.mypurecloud.com/channels/x", false},
		{c, "wss://streaming.mypurecloud.de.evil.com/channels/x", false},
		{c, "wss://streaming.mypurecloud.de:8443/channels/x", false},
		{c, "ws://streaming.mypurecloud.de/channels/x", false},
		{c, "https://streaming.mypurecloud.de/channels/x", false},
		{local, "ws://127.0.0.1:8080/channels/x", true},
		{local, "ws://127.0.0.1:9999/channels/x", false},
		{local, "wss://streaming.mypurecloud.com/channels/x", true},
	} {
		err := tc.c.newProtocol(1).(*genesys.Protocol).CheckStreamURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.url, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInsecureURL) {
			t.Errorf("%s: err %v does not match ErrInsecureURL", tc.url, err)
		}
	}
	if got := local.cfg.apiBaseURL(); got != "http://127.0.0.1:8080" {
		t.Fatalf("API base %q", got)
	}
}
