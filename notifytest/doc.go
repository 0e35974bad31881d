// Package notifytest provides an in-process fake of the Genesys Cloud
// Notifications API, for tests. It is as strict as Genesys where a client
// could get something wrong: a client that passes here should not fail
// there for a reason the fake could have shown.
//
// A Server speaks two protocols on 127.0.0.1. The channel protocol has
// REST endpoints under /api/v2/notifications/channels (create, list and
// probe channels; get, replace, add and remove their topic subscriptions)
// and the channel WebSockets whose connectUri the create call returns.
// Every REST request needs an "Authorization: Bearer <token>" header; the
// sockets need none. The token-frame protocol has a single WebSocket
// endpoint, TokenFrameURL, on which the client sends its token and its
// subscriptions as frames. The server also serves an OAuth token endpoint
// (TokenURL), the topic catalog (GET /api/v2/notifications/availabletopics)
// that it checks subscriptions against, and the state of a fake
// organization, with the REST readers that a client uses to re-read state
// after a gap.
//
// Tests drive the server from the outside: Publish sends a notification to
// every socket, of either protocol, subscribed to a topic; SetPresence,
// SetRoutingStatus and SetQueueObservation change the organization's state
// and publish it, and PublishCall publishes the conversation of a call, so
// that every body type of package notify has a helper that publishes a
// realistic one; and the fault methods simulate what goes wrong in
// production: dropped (DropAll), closed (CloseAll) and silent (Stall)
// sockets, expired channels (Evict), maintenance (SocketClosing,
// SocketClosingAll), revoked and expired tokens (TokenRevoked,
// ExpireTokens, RefuseCredentials), garbage frames (SendRaw), failing or
// rate limited REST calls (FailNext, FailNextOn) and failing upgrades
// (FailUpgrades). WaitSubscribed, Stats, Channels, TokenFrameConnections,
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
// PUT and POST /channels/{id}/subscriptions take [{"id":"…"},…] and answer
// {"entities":[{"id":"…","state":"Permitted"},…]}, a topic refused by
// Config.Permit being {"id":"…","state":"Rejected","rejectionReason":"…",
// "missingPermissions":[…]} with ?ignoreErrors=true, and making the whole
// request fail with 403 without it. GET answers the same list, each topic
// "Permitted". DELETE answers 204 without a body. A combined topic,
// "v2.users.{id}?presence&routingStatus", is stored as the topics it names,
// "v2.users.{id}.presence" and "v2.users.{id}.routingStatus": the answers
// list those, and they count toward Config.MaxTopics (1,000 by default: 600
// combined topics are 1,200, a 400 that changes nothing). A topic outside
// the topic catalog fails the whole request with 400 (see "Topic catalog").
// Subscribing extends the channel's life (Config.ChannelTTL).
//
// Any accepted token may use any channel id, so a client that refreshes
// its token keeps its channel. GET /channels lists the channels created
// with the request's token (?includechannels=token, the default) or with
// any token of its app (?includechannels=oauthclient). An app (Config.App)
// holds at most Config.MaxChannels channels: creating one more evicts the
// app's channel without a socket that was used least recently, or, if
// every one has a socket, the least recently used one. A channel has at
// most one socket; a new one closes the previous one with status 4000. A
// removed channel's socket is closed with status 1000 (expired or evicted)
// or 4001 (TokenRevoked) after the matching v2.system message; a dial to a
// channel that does not exist answers 404 with the error body below.
//
// A socket that dialed successfully is registered before any later request
// on its channel is served: a client may PUT its subscriptions as soon as
// its Dial returns and rely on every Publish after the response.
//
// Every answer carries an ININ-Correlation-Id header. Error answers have
// the Genesys error body, whose contextId repeats that header:
//
//	{"message":"…","code":"not.found","status":404,"contextId":"…","details":[],"errors":[]}
//
// System messages (v2.system.socket_closing, v2.system.no_longer_subscribed.{id},
// v2.system.token_revoked.{id}) have the body of the SDKs'
// SystemMessageSystemMessage:
//
//	{"channelId":"…","systemTopicType":"socket_closing","correlationId":"…","organizationId":"…",
//	 "userId":"","oauthClientId":"notifytest-client","reason":"…","message":"…","data":{}}
//
// # Topic catalog
//
// GET /api/v2/notifications/availabletopics lists the templates of the
// topics a channel may subscribe to: those of AvailableTopics (101, sorted
// by id) and Config.Topics. Each entity has its id, such as
// "v2.users.{id}.presence"; description, requiresPermissions, transports,
// topicParameters and visibility are added when expand names them
// (repeated, ?expand=transports&expand=description, or comma-separated),
// empty lists included. The values enforced, schema,
// publicApiTemplateUriPaths and permissionDetails are accepted and add
// nothing; any other value answers 400. includePreview=false (the default
// is true) leaves out the templates whose visibility is "Preview":
//
//	{"entities":[{"id":"v2.users.{id}.presence","transports":["All"]},…]}
//
// The built-in templates are those of the official SDKs' topic maps (the
// .NET SDK's NotificationTopics) and the conversation detail events of
// Genesys's EventBridge examples, with two-parameter templates such as
// "v2.users.{id}.outbound.contactlists.{id}.export". Their descriptions are
// written here. requiresPermissions names a permission where Genesys
// documents one (queue observations, adherence) and is empty elsewhere; the
// server does not enforce it (Config.Permit decides). Transports are not in
// the SDKs: ASSUMED, every template is listed with ["All"], except
// "v2.audits.entitytype.{id}.entityid.{id}", seen only in EventBridge
// examples, which is listed with ["EventBridge"], so that clients can be
// tested with a topic that a channel cannot carry.
//
// A topic matches a template when it has as many dot-separated segments,
// the same fixed segments, and a non-empty segment that is not a
// placeholder ("{userId}") for each "{id}". A PUT or POST of subscriptions
// that names a topic, or a part of a combined topic, that matches no
// template, or whose template's transports lack "All" and "Websocket",
// answers 400 with the topic in its message, for the whole request and
// with or without ignoreErrors, and changes nothing:
//
//	{"message":"Topic v2.users.u1.presense matches no available topic (…).","code":"bad.request","status":400,…}
//
// ASSUMED: Genesys does not document what it answers for a topic that does
// not exist; this is the answer it gives for more than 1,000 topics. Topics
// of the token-frame protocol are not checked.
//
// # Tokens
//
// A token is accepted unless it is empty, refused by Config.Authorize,
// revoked, or an expired token of the token endpoint. TokenRevoked revokes
// the token that created the channel and the last one used on it;
// ExpireTokens revokes every token accepted or issued so far. Revocation is
// for good, on REST (401) and on token-frame sockets (an error frame and
// status 4001), so a client must fetch a fresh token to recover, as on
// Genesys; tokens first seen later are accepted.
//
// The token endpoint, TokenURL, serves the client-credentials grant with
// Config.ClientID and Config.ClientSecret and issues distinct tokens that
// live Config.TokenLifetime; RefuseCredentials makes it answer 401
// invalid_client, as when the OAuth client is deleted. TokenSource returns
// a token source that fetches a fresh token from it on every call.
//
// # Organization state
//
// The server keeps the presence and routing status of users and the
// observed values of queues. SetPresence, SetRoutingStatus and
// SetQueueObservation change them and publish the matching notification
// (v2.users.{id}.presence, v2.users.{id}.routingStatus,
// v2.analytics.queues.{id}.observations) to the subscribed sockets; a
// change made while no socket is open is kept, as Genesys keeps state but
// not events, so that a client can read it after a gap. Presence dates and
// routing status start times have millisecond precision and strictly
// increase per user. Presence, RoutingStatus and QueueObservation read the
// state back. Every user exists: one whose presence was never set is
// "Offline", and one whose routing status was never set "OFF_QUEUE", both
// since the server started. The organization presence id of a system
// presence is a UUID derived from its name. Queue values never set are 0.
// Conversations have no REST reader, as on Genesys: PublishCall publishes
// a call's conversation at each stage (waiting in the queue, alerting the
// agent, connected, ended) on the queue's and the agent's conversations
// topics.
// The readers need a bearer token like every REST request:
//
//	GET /api/v2/users/presences/purecloud/bulk?id=A&id=B   at most 50 ids, else 400
//	→ [{"userId":"A","source":"PURECLOUD","presenceDefinition":{"id":"…","systemPresence":"On Queue"},
//	    "message":"","modifiedDate":"2025-03-04T09:12:31.604Z"},…]
//	GET /api/v2/users/{id}/presences/purecloud            → one of those
//
//	GET /api/v2/users?id=A&id=B&expand=routingStatus&pageSize=100   at most 100 ids, else 400
//	→ {"entities":[{"id":"A","name":"User A","state":"active","version":1,
//	               "routingStatus":{"userId":"A","status":"IDLE","startTime":"…"},"selfUri":"…"}],
//	   "pageSize":100,"pageNumber":1,"total":2,"pageCount":1,"firstUri":"…","selfUri":"…","lastUri":"…"}
//	GET /api/v2/users/{id}/routingstatus                  → {"userId":"…","status":"…","startTime":"…"}
//
//	POST /api/v2/analytics/queues/observations/query      at most 100 predicates, else 400
//	{"filter":{"type":"or","predicates":[{"dimension":"queueId","value":"Q"}]},"metrics":["oWaiting","oOnQueueUsers"]}
//	→ {"results":[{"group":{"queueId":"Q","mediaType":"voice"},"data":[{"metric":"oWaiting","stats":{"count":3}}]},
//	              {"group":{"queueId":"Q"},"data":[{"metric":"oOnQueueUsers","qualifier":"IDLE","stats":{"count":2}}]}]}
//
// GET /api/v2/users pages as Genesys does: 25 users a page unless pageSize
// (at most 500) says otherwise, so a client that forgets pageSize=100 gets
// only the first 25; routingStatus is present only with expand=routingStatus
// (and a user's presence with expand=presence); without ids it lists the
// users whose state was set. The observation query answers, for every queue
// named by a queueId predicate (other predicates are checked, not
// evaluated), one result with the asked conversation metrics (oWaiting,
// oInteracting, oAlerting, oLongestWaiting, oLongestInteracting) for the
// media type "voice", and one with the asked agent metrics (oOnQueueUsers,
// oOffQueueUsers, oActiveUsers, oMemberUsers, oUserPresences,
// oUserRoutingStatuses) without one, each metric once per qualifier set, or
// once with count 0. An unknown metric answers 400. Stats counts the reads
// of each kind (PresenceReads, UserReads, ObservationQueries); FailNextOn
// fails one kind only.
//
// # Token-frame protocol
//
// The client dials TokenFrameURL, "ws://127.0.0.1:PORT/api/v2/notifications",
// without credentials, and sends its token as its first text frame:
//
//	{"access_token":"<token>"}
//
// If the token is accepted, the server answers {"event":"connected"};
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
// A test runs the code under test, such as a notify.Client, against a
// Server: the example of the package tests a client through a drop, with
// the state changed while it is away. A client subscribes after it
// connects, so a test that publishes as soon as a socket is open (Sockets)
// races with the subscription: wait with WaitSubscribed instead. To change
// the state while a client is away, fail its upgrades (FailUpgrades) before
// dropping it (DropAll). The same test runs on the token-frame protocol
// with notify.WithTokenFrameEndpoint(srv.TokenFrameURL()) and path topics
// such as "/users/1/presence".
package notifytest
