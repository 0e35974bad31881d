package testbed

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The verdict tells an event lost by the bridges (it reached a replica)
// from one that no replica could read, and flags a stored event that the
// ledger says reached none.
func TestLedgerJudge(t *testing.T) {
	l := NewLedger(2)
	l.Add(1, []int{1, 1})
	l.Add(2, []int{0, 1})
	l.Add(3, []int{0, 0}) // reached none, not stored: not a loss
	l.Add(4, []int{1, 0}) // reached one, not stored: a loss
	l.Add(5, []int{1, 1}) // stored twice
	l.Add(6, []int{0, 0}) // reached none, yet stored: the ledger is wrong
	if l.Reached(0) != 3 || l.Reached(1) != 3 || l.Events() != 6 || l.Unreached() != 2 {
		t.Fatalf("reached %d and %d, events %d, unreached %d", l.Reached(0), l.Reached(1), l.Events(), l.Unreached())
	}
	v := l.Judge(map[int64]int{1: 1, 2: 1, 5: 2, 6: 1}, 6)
	want := Verdict{Published: 6, Reached: 4, Unreached: 1, Stored: 4, Duplicate: 1, Lost: 1, Phantom: 1, FirstLost: 4, FirstUnreached: 3}
	if v != want {
		t.Fatalf("verdict %+v, want %+v", v, want)
	}
	if v.OK() || !strings.Contains(v.String(), "lost 1 (first: seq 4); 1 stored although they reached no replica") {
		t.Fatalf("verdict %v, OK %v", v, v.OK())
	}
	if ok := l.Judge(map[int64]int{1: 1, 2: 1, 4: 1, 5: 1}, 5); !ok.OK() || ok.Unreached != 1 {
		t.Fatalf("verdict %+v", ok)
	}
}
