module github.com/gcnotify/notify

go 1.26.0

require (
	github.com/cenkalti/backoff/v4 v4.3.0
	github.com/coder/websocket v1.8.15
	golang.org/x/oauth2 v0.38.0
)

require go.uber.org/goleak v1.3.0
