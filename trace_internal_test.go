package notify

import (
	"errors"
	"testing"
	"time"
)

// Every call site is safe on a nil Trace and on one without hooks.
func TestTraceCallSitesWithoutHooks(t *testing.T) {
	id := "c"
	for _, tr := range []*Trace{nil, {}} {
		tr.channel(nil, &id)
		tr.channel(&id, nil)
		tr.connected(Connected{})
		tr.disconnected("c", errors.New("x"), time.Second)
		tr.delivered(Notification{})
		tr.dropped(Notification{})
		tr.budgetWait(time.Second)
		tr.resynced(Resynced{}, time.Second)
		tr.catalogRead(1, time.Second, nil)
	}
}

// catalogRead passes what the catalog's reader found.
func TestTraceCatalogRead(t *testing.T) {
	var got []CatalogReadInfo
	tr := &Trace{CatalogRead: func(i CatalogReadInfo) { got = append(got, i) }}
	failed := errors.New("notify: reading the topic catalog: 503")
	tr.catalogRead(83, 250*time.Millisecond, nil)
	tr.catalogRead(0, time.Second, failed)
	want := []CatalogReadInfo{{Templates: 83, Duration: 250 * time.Millisecond}, {Duration: time.Second, Err: failed}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("CatalogRead hooks: %+v, want %+v", got, want)
	}
}
