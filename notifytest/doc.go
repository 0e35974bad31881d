// Package notifytest provides an in-process fake of the Genesys Cloud
// Notifications API, for tests.
//
// A Server serves, on 127.0.0.1, the REST endpoints under
// /api/v2/notifications/channels (create, list and probe channels; get,
// replace, add and remove their topic subscriptions) and the channel
// WebSockets whose connectUri the create call returns. Every REST request
// needs an "Authorization: Bearer <token>" header; the sockets need none.
//
// Tests drive the server from the outside: Publish sends a notification to
// every socket subscribed to a topic, and the fault methods simulate what
// goes wrong in production: dropped (DropAll), closed (CloseAll) and silent
// (Stall) sockets, expired channels (Evict), the socket_closing and
// token_revoked system messages, garbage frames (SendRaw) and failing or
// rate limited REST calls (FailNext). Stats, Channels, Subscriptions and
// Sockets expose the server's state, so tests can wait for conditions
// instead of sleeping.
//
// # Wire protocol
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
package notifytest
