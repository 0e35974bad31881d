package notifytest

// SetTestHooks installs hooks called after a socket's upgrade response is
// written but before the socket is registered (accepted), and when a
// request starts waiting for such an upgrade (upgradeWait).
func SetTestHooks(s *Server, accepted, upgradeWait func(channelID string)) {
	s.mu.Lock()
	s.hookAccepted = accepted
	s.hookUpgradeWait = upgradeWait
	s.mu.Unlock()
}

// FramesWritten returns how many frames were written to the socket of the
// channel, or -1 if it has none.
func FramesWritten(s *Server, channelID string) int64 {
	sk := s.channelSocket(channelID)
	if sk == nil {
		return -1
	}
	return sk.written.Load()
}
