// Package intern turns byte slices into strings without allocating when
// they equal one of a known set, such as the subscribed topics.
package intern

import "sync/atomic"

// A Table holds the known strings. The zero Table knows none; its methods
// may be called concurrently.
type Table struct {
	known atomic.Pointer[map[string]string]
}

// Set replaces the known strings. The slice is not retained.
func (t *Table) Set(strs []string) {
	m := make(map[string]string, len(strs))
	for _, s := range strs {
		m[s] = s
	}
	t.known.Store(&m)
}

// String returns b as a string: the known one if b equals it, without
// allocating, else a new string.
func (t *Table) String(b []byte) string {
	if m := t.known.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	return string(b)
}
