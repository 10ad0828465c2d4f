package fixes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackagedUnitsMatchTheAdvice: the package's service and timer
// (packaging/, installed but not enabled) run what step 10's monitoring
// advice writes, into the same textfile, on the same schedule: a host set
// up either way reports the same metrics to the same node_exporter file.
func TestPackagedUnitsMatchTheAdvice(t *testing.T) {
	e := Default()
	e.SystemdRoot = t.TempDir() // systemd is the init
	e.UnitDir = t.TempDir()
	// The advice is only offered for a root-only binary: a real one stands
	// in, and its path becomes the package's /usr/bin/ngxdoctor below.
	e.Self = "/usr/bin/true"
	plans := planMonitor(e, nil)
	if len(plans) != 1 || len(plans[0].edits) != 2 {
		t.Fatalf("monitoring advice: %+v, want one plan with a service and a timer", plans)
	}
	// The packaged units add only what documents them and orders them after nginx.
	extra := map[string]bool{"Documentation=man:ngxdoctor(1)": true, "After=nginx.service": true}
	for _, ed := range plans[0].edits {
		b, err := os.ReadFile(filepath.Join("..", "packaging", filepath.Base(ed.Path)))
		if err != nil {
			t.Fatal(err)
		}
		packaged := directives(string(b))
		advice := directives(strings.ReplaceAll(ed.New, e.Self+" ", "/usr/bin/ngxdoctor "))
		for d := range advice {
			if !packaged[d] {
				t.Errorf("%s: the advice's %q is not in the packaged unit: change packaging/%[1]s with monitor.go", filepath.Base(ed.Path), d)
			}
		}
		for d := range packaged {
			if !advice[d] && !extra[d] {
				t.Errorf("%s: the packaged unit's %q is not what the advice writes: change packaging/%[1]s with monitor.go", filepath.Base(ed.Path), d)
			}
		}
	}
}

// directives are a unit file's section headers and settings, without comments.
func directives(unit string) map[string]bool {
	out := map[string]bool{}
	for _, l := range strings.Split(unit, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out[l] = true
		}
	}
	return out
}
