package notifytest

import (
	"encoding/json"
	"fmt"
)

// Frames the server writes on its own.
var (
	heartbeatFrame = []byte(`{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}`)
	pongFrame      = []byte(`{"topicName":"channel.metadata","eventBody":{"message":"pong"}}`)
)

// eventFrame returns the envelope of a notification. body must be valid
// JSON; it is embedded verbatim.
func eventFrame(topic string, body []byte, correlationID string) []byte {
	t, _ := json.Marshal(topic)
	c, _ := json.Marshal(correlationID)
	b := make([]byte, 0, len(t)+len(body)+len(c)+80)
	b = append(b, `{"topicName":`...)
	b = append(b, t...)
	b = append(b, `,"version":"2","eventBody":`...)
	b = append(b, body...)
	b = append(b, `,"metadata":{"CorrelationId":`...)
	b = append(b, c...)
	b = append(b, `}}`...)
	return b
}

// encodeBody returns the JSON encoding of a Publish body. json.RawMessage
// and []byte pass through verbatim (empty means null).
func encodeBody(body any) []byte {
	var raw []byte
	switch b := body.(type) {
	case json.RawMessage:
		raw = b
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(body)
		if err != nil {
			panic(fmt.Sprintf("notifytest: Publish: cannot encode body: %v", err))
		}
		return raw
	}
	if len(raw) == 0 {
		return []byte("null")
	}
	if !json.Valid(raw) {
		panic(fmt.Sprintf("notifytest: Publish: body is not valid JSON: %q", raw))
	}
	return raw
}

// systemBody is the eventBody of the v2.system.* messages (the SDKs'
// SystemMessageSystemMessage).
type systemBody struct {
	ChannelID       string         `json:"channelId"`
	SystemTopicType string         `json:"systemTopicType"`
	CorrelationID   string         `json:"correlationId"`
	OrganizationID  string         `json:"organizationId"`
	UserID          string         `json:"userId"`
	OAuthClientID   string         `json:"oauthClientId"`
	Reason          string         `json:"reason"`
	Message         string         `json:"message"`
	Data            map[string]any `json:"data"`
}

// origin says whom a system message is about.
type origin struct {
	channelID string
	orgID     string
	clientID  string
}

func (s *Server) origin(channelID string) origin {
	return origin{channelID: channelID, orgID: s.orgID, clientID: s.cfg.ClientID}
}

// systemFrame returns a system message. The userId is empty: the fake's
// channels belong to OAuth clients (client credentials), not to users.
func systemFrame(topic string, o origin, kind, reason, message string) []byte {
	cid := newUUID()
	body, _ := json.Marshal(systemBody{
		ChannelID:       o.channelID,
		SystemTopicType: kind,
		CorrelationID:   cid,
		OrganizationID:  o.orgID,
		OAuthClientID:   o.clientID,
		Reason:          reason,
		Message:         message,
		Data:            map[string]any{},
	})
	return eventFrame(topic, body, cid)
}

func socketClosingFrame(o origin) []byte {
	return systemFrame("v2.system.socket_closing", o, "socket_closing",
		"The socket will be closed soon for maintenance; open a new one.", "Socket closing")
}

func noLongerSubscribedFrame(o origin) []byte {
	return systemFrame("v2.system.no_longer_subscribed."+o.channelID, o, "no_longer_subscribed",
		"The channel no longer exists.", "No longer subscribed")
}

func tokenRevokedFrame(o origin) []byte {
	return systemFrame("v2.system.token_revoked."+o.channelID, o, "token_revoked",
		"The token that created the channel was revoked.", "Token revoked")
}

// tfConnectedFrame accepts the token of a token-frame socket.
var tfConnectedFrame = []byte(`{"event":"connected"}`)

// tfEventFrame returns a token-frame notification. body must be valid JSON;
// it is embedded verbatim.
func tfEventFrame(topic string, body []byte) []byte {
	t, _ := json.Marshal(topic)
	b := make([]byte, 0, len(t)+len(body)+20)
	b = append(b, `{"event":`...)
	b = append(b, t...)
	b = append(b, `,"data":`...)
	b = append(b, body...)
	b = append(b, '}')
	return b
}

// tfData is the data of the token-frame replies.
type tfData struct {
	Status  int    `json:"status,omitempty"`
	Topic   string `json:"topic,omitempty"`
	Message string `json:"message,omitempty"`
}

// tfReplyFrame returns a "subscribed" or "unsubscribed" reply about topic.
func tfReplyFrame(event, topic string) []byte {
	return tfFrame(event, tfData{Topic: topic})
}

// tfErrorFrame returns an error frame about topic or, if topic is empty,
// about the connection itself.
func tfErrorFrame(status int, topic, message string) []byte {
	return tfFrame("error", tfData{Status: status, Topic: topic, Message: message})
}

func tfFrame(event string, data tfData) []byte {
	b, _ := json.Marshal(struct {
		Event string `json:"event"`
		Data  tfData `json:"data"`
	}{event, data})
	return b
}

// tokenExpiredFrame is what ExpireTokens writes to token-frame sockets.
var tokenExpiredFrame = tfErrorFrame(401, "", "token expired")
