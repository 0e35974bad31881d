package notify

import (
	"fmt"
	"testing"
)

func TestDedupDropsCopiesFromAnotherConnectionOnly(t *testing.T) {
	d := newDedup()
	a := Notification{Topic: "t", CorrelationID: "c", Body: []byte(`{"x":1}`)}
	sameIDOtherBody := Notification{Topic: "t", CorrelationID: "c", Body: []byte(`{"x":2}`)}
	if d.check(1, d.key(&a)) {
		t.Fatal("first copy dropped")
	}
	if d.check(1, d.key(&a)) {
		t.Fatal("a repeat on the same connection is not a handover duplicate")
	}
	if d.check(2, d.key(&sameIDOtherBody)) {
		t.Fatal("same CorrelationId with another body is another event")
	}
	if !d.check(2, d.key(&a)) {
		t.Fatal("copy from the second connection delivered")
	}
}

func TestDedupWindowIsBounded(t *testing.T) {
	d := newDedup()
	for i := range 3 * dedupWindow {
		d.check(1, d.key(&Notification{Topic: "t", CorrelationID: fmt.Sprint(i)}))
	}
	if len(d.seen) > dedupWindow || len(d.order) > dedupWindow {
		t.Fatalf("window holds %d keys, %d slots", len(d.seen), len(d.order))
	}
	recent := Notification{Topic: "t", CorrelationID: fmt.Sprint(3*dedupWindow - 1)}
	if !d.check(2, d.key(&recent)) {
		t.Fatal("recent event forgotten")
	}
}
