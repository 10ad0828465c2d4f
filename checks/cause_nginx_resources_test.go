package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

func TestNginxResourcesRule(t *testing.T) {
	for _, c := range []logs.Class{logs.TooManyFiles, logs.WorkerConns, logs.AddrNotAvail} {
		testRule(t, CauseNginxResources, []ruleCase{
			{string(c), tcp3000, func(s *Snapshot) { s.ErrorLogs = lines(entry(c, "", now.Add(-time.Minute))) }, true, false, 1},
			{string(c) + " before the window", tcp3000, func(s *Snapshot) { s.ErrorLogs = lines(entry(c, "", now.Add(-time.Hour))) }, false, false, 0},
		})
	}
	testRule(t, CauseNginxResources, []ruleCase{
		{"workers at their open-files limit", tcp3000, func(s *Snapshot) { withWorkers(s, 1020, 1024) }, true, true, 0},
		{"workers far from it", tcp3000, func(s *Snapshot) { withWorkers(s, 40, 1024) }, false, false, 0},
		{"an unlimited worker", tcp3000, func(s *Snapshot) { withWorkers(s, 1<<20, host.Unlimited) }, false, false, 0},
		{"at the limit and in the log", tcp3000, func(s *Snapshot) {
			withWorkers(s, 1024, 1024)
			s.ErrorLogs = lines(entry(logs.TooManyFiles, "", now.Add(-time.Minute)))
		}, true, true, 1},
	})
}

// withWorkers: two running workers with these open files and soft limit,
// under worker_connections 4096 and no worker_rlimit_nofile.
func withWorkers(s *Snapshot, open int32, limit uint64) {
	s.Install.WorkerPIDs = []int32{813, 814}
	s.Config.WorkerConnections = 4096
	quiet := int32(12)
	s.Processes = []host.Process{
		{PID: 812, Name: "nginx", Cmdline: []string{"nginx: master process /usr/sbin/nginx"}},
		{PID: 813, PPID: 812, Name: "nginx", OpenFiles: &quiet, FileLimit: &limit},
		{PID: 814, PPID: 812, Name: "nginx", OpenFiles: &open, FileLimit: &limit},
	}
}

// The evidence sets the workers' descriptors beside the settings an expert
// compares them with.
func TestNginxResourcesEvidence(t *testing.T) {
	s := snap(tcp3000)
	withWorkers(s, 1020, 1024)
	s.Config.RlimitNofile = nginx.Directive{Name: "worker_rlimit_nofile", Args: []string{"1024"}, At: nginx.Pos{File: "/etc/nginx/nginx.conf", Line: 3}}
	var got *Cause
	for _, c := range Diagnose(s) {
		if c.ID == CauseNginxResources {
			got = &c
		}
	}
	if got == nil {
		t.Fatal("no nginx-resources")
	}
	ev := strings.Join(got.Evidence, "\n")
	for _, want := range []string{
		"nginx worker pid 814: 1020 open files, limit 1024",
		"worker_rlimit_nofile: 1024 (/etc/nginx/nginx.conf:3)",
		"worker_connections 4096: proxied, each connection holds two descriptors (client and upstream), up to 8192 per worker, above the limit 1024",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
	if !strings.Contains(got.Summary, "pid 814 has 1020 of its 1024 open files") {
		t.Errorf("summary: %s", got.Summary)
	}
}
