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

// TestNofileCapped: the nofile fix asks no more than the workers may set,
// or setrlimit fails (EPERM) and so does the verification. The kernel's
// fs.nr_open and, for a master not run by root, its hard limit are read
// from a copy of /proc; the fix says which one capped it, and offers
// nothing when no raise is possible.
func TestNofileCapped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		nrOpen    string
		masterUID uint32
		hard      string // the master's hard limit
		want      string // in the title; "" for no fix
	}{
		{"fs.nr_open caps", "1500\n", 0, "1048576", "from 32 to 1500 (at most the kernel's fs.nr_open 1500 allows)"},
		{"no cap", "1048576\n", 0, "1048576", "from 32 to 2048:"},
		{"a root master raises its own hard limit", "1048576\n", 0, "1000", "from 32 to 2048:"},
		{"a master run by www-data keeps its hard limit", "1048576\n", 33, "1000", "from 32 to 1000 (at most the nginx master's hard limit 1000 (it runs as www-data, not root) allows)"},
		{"no raise possible", "32\n", 0, "1048576", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "nginx.conf")
			if err := os.WriteFile(path, []byte("user www-data;\nworker_processes 1;\nworker_rlimit_nofile 32;\nevents { worker_connections 768; }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			proc := filepath.Join(dir, "proc")
			for name, text := range map[string]string{
				"sys/fs/nr_open": tc.nrOpen,
				"812/limits": "Limit                     Soft Limit           Hard Limit           Units\n" +
					"Max open files            1024                 " + tc.hard + "              files\n",
			} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(proc, name), []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			e := testEngine(t)
			e.ProcSys = filepath.Join(proc, "sys")
			cfg := &nginx.Config{WorkerConnections: 768,
				RlimitNofile: nginx.Directive{Name: "worker_rlimit_nofile", Args: []string{"32"}, At: nginx.Pos{File: path, Line: 3}}}
			o := &checks.Outcome{Snapshot: &checks.Snapshot{Config: cfg,
				Install:   nginx.Install{Config: path, MasterPID: 812, WorkerPIDs: []int32{813}},
				Processes: []host.Process{{PID: 812, Name: "nginx", UID: tc.masterUID, User: map[uint32]string{0: "root", 33: "www-data"}[tc.masterUID]}}}}
			c := checks.Cause{ID: checks.CauseNginxResources, Target: "nginx", Facts: checks.Facts{Setting: "worker_rlimit_nofile"}}
			var got *Fix
			for _, f := range e.For(o, c) {
				if strings.HasSuffix(baseID(f.ID), ":nofile") {
					got = &f
				}
			}
			if tc.want == "" {
				if got != nil {
					t.Fatalf("offered %q, but the kernel allows no more than the 32 set", got.Title)
				}
				return
			}
			if got == nil {
				t.Fatal("no nofile fix")
			}
			if !strings.Contains(got.Title, tc.want) {
				t.Errorf("title %q, want %q", got.Title, tc.want)
			}
		})
	}
}
