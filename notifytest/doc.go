// Package notifytest provides an in-process fake of the Genesys Cloud
// Notifications API, for tests.
//
// A Server speaks two protocols on 127.0.0.1. The channel protocol has
// REST endpoints under /api/v2/notifications/channels (create, list and
// probe channels; get, replace, add and remove their topic subscriptions)
// and the channel WebSockets whose connectUri the create call returns.
// Every REST request needs an "Authorization: Bearer <token>" header; the
// sockets need none. The token-frame protocol has a single WebSocket
// endpoint, TokenFrameURL, on which the client sends its token and its
// subscriptions as frames.
//
// Tests drive the server from the outside: Publish sends a notification to
// every socket, of either protocol, subscribed to a topic, and the fault
// methods simulate what goes wrong in production: dropped (DropAll), closed
// (CloseAll) and silent (Stall) sockets, expired channels (Evict), the
// socket_closing and token_revoked system messages, expired token-frame
// tokens (ExpireTokens), garbage frames (SendRaw) and failing or rate
// limited REST calls (FailNext). Stats, Channels, TokenFrameConnections,
// Subscriptions and Sockets expose the server's state, so tests can wait
// for conditions instead of sleeping.
//
// # Channel protocol
//
// Creating a channel answers
//
//	{"connectUri":"ws://127.0.0.1:PORT/channels/streaming-0-…","id":"streaming-0-…","expires":"2006-01-02T15:04:05.000Z"}
//
// and events arrive on the socket as text frames:
//
//	{"topicName":"v2.users.1.presence","version":"2","eventBody":{…},"metadata":{"CorrelationId":"…"}}
//
// The server sends {"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}
// every Config.HeartbeatInterval and answers a {"message":"ping"} frame with
// {"topicName":"channel.metadata","eventBody":{"message":"pong"}}.
//
// Channels belong to the token that created them only for listing and for
// Config.MaxChannels: any accepted token may use any channel id, so a client
// that refreshes its token keeps its channel. A channel has at most one
// socket; a new one closes the previous one with status 4000. A removed
// channel's socket is closed with status 1000 (expired or evicted) or 4001
// (TokenRevoked) after the matching v2.system message.
//
// A socket that dialed successfully is registered before any later request
// on its channel is served: a client may PUT its subscriptions as soon as
// its Dial returns and rely on every Publish after the response.
//
// # Token-frame protocol
//
// The client dials TokenFrameURL, "ws://127.0.0.1:PORT/api/v2/notifications",
// without credentials, and sends its token as its first text frame:
//
//	{"access_token":"<token>"}
//
// If Config.Authorize accepts it, the server answers {"event":"connected"};
// otherwise, or if the first frame is something else or does not come
// within 5s, it answers
//
//	{"event":"error","data":{"status":401,"message":"…"}}
//
// and closes the socket with status 4001. Messages never contain the token.
// The client then subscribes and unsubscribes one topic per frame:
//
//	{"topic":"/users/42/presence"}       → {"event":"subscribed","data":{"topic":"/users/42/presence"}}
//	{"unsubscribe":"/users/42/presence"} → {"event":"unsubscribed","data":{"topic":"/users/42/presence"}}
//
// A topic that Config.Permit refuses is answered with
// {"event":"error","data":{"status":403,"topic":"…","message":"…"}}, one
// beyond Config.MaxTopics with the same frame and status 400; an error
// frame without a topic is always about the connection itself. The topic
// is added before "subscribed" is written, so every Publish after the
// client read it reaches the socket, as
//
//	{"event":"/users/42/presence","data":{…}}
//
// Subscribing again to a topic answers "subscribed" again; unsubscribing
// from a topic that is not subscribed answers "unsubscribed"; frames with
// an empty topic, and unknown frames, are ignored. Another access_token
// frame re-authenticates the socket: "connected" again, with the
// subscriptions untouched, or the 401 error and status 4001. The
// subscriptions end with the socket. Keepalive is WebSocket ping/pong:
// every frame of a socket is written by one path, in order, so a pong
// follows every frame written before its ping was read.
//
// # Usage
//
//	srv := notifytest.NewServer(notifytest.Config{HeartbeatInterval: 20 * time.Millisecond})
//	defer srv.Close()
//
//	client := mylib.NewClient(srv.URL(), "token") // the code under test
//	...
//	<-srv.Sockets() // wait until the client is connected
//	srv.Publish("v2.users.1.presence", map[string]string{"presence": "Available"})
//	srv.DropAll() // and check that the client reconnects
//
// and for the token-frame protocol:
//
//	client := mylib.NewTokenFrameClient(srv.TokenFrameURL(), "token")
//	...
//	<-srv.Sockets() // wait until the client is authenticated
//	srv.Publish("/users/1/presence", map[string]string{"presence": "Available"})
//	srv.ExpireTokens() // and check that the client reconnects with a new token
package notifytest
