package main

import (
	"time"

	"golang.org/x/oauth2"
)

// demoTokens hands out tokens for the fake server, which accepts any.
type demoTokens struct{}

func (demoTokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "demo", Expiry: time.Now().Add(time.Hour)}, nil
}
