// Package labtest holds the one rule every test with real parts follows:
// it may skip on a developer's machine that lacks root, nginx or a tool,
// saying why, but in CI (CI set), where the test command installs all of
// them, a skip would hide a regression, so it fails instead.
package labtest

import (
	"os"
	"testing"
)

// Need skips or fails t when ok is false, with why as the reason.
func Need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must run this test, but: %s", why)
	}
	t.Skipf("skipped outside CI: %s (set CI=true to make this a failure)", why)
}
