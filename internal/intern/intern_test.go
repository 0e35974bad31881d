package intern

import "testing"

func TestTable(t *testing.T) {
	var tab Table
	b := []byte("v2.users.u.presence")
	if got := tab.String(b); got != "v2.users.u.presence" {
		t.Fatalf("empty table: %q", got)
	}
	tab.Set([]string{"v2.users.u.presence", "other"})
	if got := tab.String(b); got != "v2.users.u.presence" {
		t.Fatalf("String = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { tab.String(b) }); n != 0 {
		t.Fatalf("a known string costs %v allocations", n)
	}
	if got := tab.String([]byte("unknown")); got != "unknown" {
		t.Fatalf("unknown: %q", got)
	}
}
