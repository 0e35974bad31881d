package notifytest

import "time"

// SetTestHooks installs hooks called after a socket's upgrade response is
// written but before the socket is registered (accepted), and when a
// request starts waiting for such an upgrade (upgradeWait).
func SetTestHooks(s *Server, accepted, upgradeWait func(channelID string)) {
	s.mu.Lock()
	s.hookAccepted = accepted
	s.hookUpgradeWait = upgradeWait
	s.mu.Unlock()
}

// SetPublishHooks installs hooks called when Publish has chosen (and
// reserved) the sockets of topic, before it writes to them (reserved), and
// when a socket that read a ping starts waiting for such reserved frames
// before it answers (pongWait).
func SetPublishHooks(s *Server, reserved func(topic string), pongWait func(id string)) {
	s.mu.Lock()
	s.hookReserved = reserved
	s.hookPongWait = pongWait
	s.mu.Unlock()
}

// SetWarnHook installs a hook called when the wait of a socket warned by
// SocketClosing ends: its delayed close was done, or the socket had ended.
func SetWarnHook(s *Server, done func(id string)) {
	s.mu.Lock()
	s.hookWarnDone = done
	s.mu.Unlock()
}

// SetAuthTimeout sets how long a token-frame socket may wait before
// sending its access_token frame (5s by default). Call it before the
// server accepts token-frame sockets.
func SetAuthTimeout(s *Server, d time.Duration) {
	s.mu.Lock()
	s.authTimeout = d
	s.mu.Unlock()
}

// FramesWritten returns how many frames were written to the socket of the
// channel, or to the authenticated token-frame socket with that connection
// id, or -1 if there is none.
func FramesWritten(s *Server, id string) int64 {
	sk := s.socketByID(id)
	if sk == nil {
		return -1
	}
	return sk.written.Load()
}
