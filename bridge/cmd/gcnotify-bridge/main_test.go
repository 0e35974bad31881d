package main

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBed matches the packages of the test bed: the embedded NATS server
// and the fake Genesys servers.
var testBed = regexp.MustCompile(`(?m)^.*(nats-server|notifytest).*$`)

// deps returns the packages that the command in dir links.
func deps(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", ".")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", dir, err)
	}
	return string(out)
}

// The production command links no test bed: no nats-server and no
// notifytest, which only the demo command needs.
func TestLinksNoTestBed(t *testing.T) {
	if found := testBed.FindAllString(deps(t, "."), -1); len(found) > 0 {
		t.Errorf("gcnotify-bridge links the test bed:\n%s", strings.Join(found, "\n"))
	}
	// The pattern finds what it looks for: the demo links both.
	demo := deps(t, "../gcnotify-bridge-demo")
	for _, pkg := range []string{"github.com/nats-io/nats-server/v2/server", "github.com/gcnotify/notify/notifytest"} {
		if !strings.Contains(demo, pkg+"\n") || !testBed.MatchString(pkg) {
			t.Errorf("gcnotify-bridge-demo does not link %s, or the pattern misses it", pkg)
		}
	}
}
