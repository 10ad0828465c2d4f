package fixes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// TestPlanNofile plans the open-files fix on a main config on disk: the
// directive edited in place, or inserted after worker_processes when
// unset (from the workers' inherited limit); none for worker_connections.
func TestPlanNofile(t *testing.T) {
	limit := uint64(1024)
	for _, tc := range []struct {
		name    string
		conf    string
		setting string
		rlimit  int // line of worker_rlimit_nofile, 0 when unset
		want    string
	}{
		{"set", "user www-data;\nworker_processes 1;\nworker_rlimit_nofile 32;\nevents { worker_connections 768; }\n", "worker_rlimit_nofile", 3,
			"-worker_rlimit_nofile 32;\n+worker_rlimit_nofile 2048;"},
		{"unset", "user www-data;\nworker_processes auto;\nevents {\n    worker_connections 768;\n}\n", "worker_rlimit_nofile", 0,
			" worker_processes auto;\n+worker_rlimit_nofile 3072;"},
		{"worker_connections", "worker_processes 1;\nevents { worker_connections 16; }\n", "worker_connections", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nginx.conf")
			if err := os.WriteFile(path, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := &nginx.Config{WorkerConnections: 768}
			if tc.rlimit > 0 {
				cfg.RlimitNofile = nginx.Directive{Name: "worker_rlimit_nofile", Args: []string{"32"}, At: nginx.Pos{File: path, Line: tc.rlimit}}
			}
			o := &checks.Outcome{Snapshot: &checks.Snapshot{Config: cfg,
				Install:   nginx.Install{Config: path, WorkerPIDs: []int32{813}},
				Processes: []host.Process{{PID: 813, Name: "nginx", FileLimit: &limit}}}}
			c := checks.Cause{ID: checks.CauseNginxResources, Target: "nginx", Facts: checks.Facts{Setting: tc.setting}}
			var got *Fix
			for _, f := range testEngine(t).For(o, c) {
				if strings.HasSuffix(baseID(f.ID), ":nofile") {
					got = &f
				}
			}
			if tc.want == "" {
				if got != nil {
					t.Fatalf("offered %q for %s", got.Title, tc.setting)
				}
				return
			}
			if got == nil {
				t.Fatal("no nofile fix")
			}
			if !strings.Contains(got.Diff, tc.want) {
				t.Errorf("diff:\n%s\nwant %q", got.Diff, tc.want)
			}
		})
	}
}
