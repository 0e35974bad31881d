package notify

import (
	"fmt"
	"testing"
)

func TestDedupDropsCopiesFromAnotherConnectionOnly(t *testing.T) {
	d := newDedup()
	a := Notification{Topic: "t", CorrelationID: "c", Body: []byte(`{"x":1}`)}
	sameIDOtherBody := Notification{Topic: "t", CorrelationID: "c", Body: []byte(`{"x":2}`)}
	if d.duplicate(1, &a) {
		t.Fatal("first copy dropped")
	}
	if d.duplicate(1, &a) {
		t.Fatal("a repeat on the same connection is not a handover duplicate")
	}
	if d.duplicate(2, &sameIDOtherBody) {
		t.Fatal("same CorrelationId with another body is another event")
	}
	if !d.duplicate(2, &a) {
		t.Fatal("copy from the second connection delivered")
	}
}

func TestDedupWindowIsBounded(t *testing.T) {
	d := newDedup()
	for i := range 3 * dedupWindow {
		d.duplicate(1, &Notification{Topic: "t", CorrelationID: fmt.Sprint(i)})
	}
	if len(d.seen) > dedupWindow || len(d.order) > dedupWindow {
		t.Fatalf("window holds %d keys, %d slots", len(d.seen), len(d.order))
	}
	recent := Notification{Topic: "t", CorrelationID: fmt.Sprint(3*dedupWindow - 1)}
	if !d.duplicate(2, &recent) {
		t.Fatal("recent event forgotten")
	}
}
