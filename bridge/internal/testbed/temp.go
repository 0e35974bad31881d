package testbed

import (
	"os"
	"sync"
)

// temps are the directories made by MkdirTemp and not removed yet.
var temps struct {
	mu   sync.Mutex
	dirs map[string]bool
}

// MkdirTemp makes a temporary directory, as os.MkdirTemp("", pattern)
// does, and remembers it until RemoveTemp, so that RemoveTemps can remove
// it when a command must stop at once.
func MkdirTemp(pattern string) (string, error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", err
	}
	temps.mu.Lock()
	defer temps.mu.Unlock()
	if temps.dirs == nil {
		temps.dirs = map[string]bool{}
	}
	temps.dirs[dir] = true
	return dir, nil
}

// RemoveTemp removes a directory made by MkdirTemp, with everything in it.
func RemoveTemp(dir string) error {
	temps.mu.Lock()
	delete(temps.dirs, dir)
	temps.mu.Unlock()
	return os.RemoveAll(dir)
}

// RemoveTemps removes every directory made by MkdirTemp that is still
// there, even while a nats-server writes in it; a command calls it when it
// is told to stop at once, before it exits.
func RemoveTemps() {
	temps.mu.Lock()
	defer temps.mu.Unlock()
	for dir := range temps.dirs {
		os.RemoveAll(dir)
		delete(temps.dirs, dir)
	}
}
