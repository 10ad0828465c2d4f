package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"

	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// What a fix changed is named at the line of the file it edited (from its
// diff) and by the commands it ran (from the engine's log).
func TestActionChanges(t *testing.T) {
	var before, after strings.Builder
	for i := 1; i <= 30; i++ {
		line := fmt.Sprintf("    directive_%d on;\n", i)
		before.WriteString(line)
		if i == 12 {
			line = "    proxy_read_timeout 90s;\n"
		}
		after.WriteString(line)
	}
	const site = "/etc/nginx/sites-enabled/app"
	a := Action{
		Fix: fixes.Fix{Diff: udiff.Unified(site, site, before.String(), after.String())},
		Applied: fixes.Applied{JournalID: "j1", Log: []string{
			"nginx -t ok before the change", "wrote " + site, "ran kill -HUP 812", "verified"},
			Requests: []fixes.Request{{Text: "GET /export on shop.test", Before: "504", After: "200", OK: true}}},
	}
	if got, want := a.Changes(), []string{"edited " + site + ":12", "ran kill -HUP 812"}; !slices.Equal(got, want) {
		t.Errorf("changes: got %q, want %q", got, want)
	}
	if got, want := a.Requests(), []string{"GET /export on shop.test: 504 → 200"}; !slices.Equal(got, want) {
		t.Errorf("requests: got %q, want %q", got, want)
	}
	a.Applied.RolledBack = true
	if got := a.Changes(); len(got) != 1 || !strings.Contains(got[0], "nothing stays changed") {
		t.Errorf("a rolled-back fix: got %q, want that nothing stays changed", got)
	}
}
