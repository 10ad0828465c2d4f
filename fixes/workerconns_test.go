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

// TestPlanWorkerConns plans the worker_connections fix on a main config on
// disk: edited in the events block or inserted there, with the open-files
// limit raised when it would not hold two descriptors per connection.
func TestPlanWorkerConns(t *testing.T) {
	for _, tc := range []struct {
		name   string
		conf   string
		wc     int
		rlimit int // line of worker_rlimit_nofile 1024, 0 when unset
		limit  uint64
		want   []string // in the diff
	}{
		{"set", "worker_processes 1;\nevents {\n    worker_connections 16;\n}\n", 16, 0, 20000,
			[]string{"-    worker_connections 16;\n+    worker_connections 1024;"}},
		{"unset", "worker_processes 1;\nevents {\n    multi_accept on;\n}\n", 512, 0, 20000,
			[]string{"+    worker_connections 1024;\n     multi_accept on;"}},
		{"open files follow", "worker_processes 1;\nworker_rlimit_nofile 1024;\nevents { worker_connections 768; }\n", 768, 2, 1024,
			[]string{"+events { worker_connections 1536; }", "-worker_rlimit_nofile 1024;", "+worker_rlimit_nofile 4096;"}},
		{"the workers' own limit", "worker_processes 1;\nevents { worker_connections 768; }\n", 768, 0, 1024,
			[]string{"+events { worker_connections 1536; }", " worker_processes 1;\n-events", "+worker_rlimit_nofile 4096;\n+events"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "nginx.conf")
			if err := os.WriteFile(path, []byte(tc.conf), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := &nginx.Config{WorkerConnections: tc.wc}
			if tc.rlimit > 0 {
				cfg.RlimitNofile = nginx.Directive{Name: "worker_rlimit_nofile", Args: []string{"1024"}, At: nginx.Pos{File: path, Line: tc.rlimit}}
			}
			o := &checks.Outcome{Snapshot: &checks.Snapshot{Config: cfg,
				Install:   nginx.Install{Config: path, WorkerPIDs: []int32{813}},
				Processes: []host.Process{{PID: 813, Name: "nginx", FileLimit: &tc.limit}}}}
			c := checks.Cause{ID: checks.CauseNginxResources, Target: "nginx", Facts: checks.Facts{Setting: "worker_connections"}}
			f := fixByKind(t, testEngine(t).For(o, c), "worker-connections")
			for _, w := range tc.want {
				if !strings.Contains(f.Diff, w) {
					t.Errorf("diff:\n%s\nwant %q", f.Diff, w)
				}
			}
		})
	}
}
