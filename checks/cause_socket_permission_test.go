package checks

import (
	"io/fs"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestSocketPermissionRule(t *testing.T) {
	closed := Socket{Exists: true, IsSocket: true, Owner: "root", Group: "root", Info: host.FileInfo{Mode: fs.ModeSocket | 0o600}, Reason: "socket root:root 0600"}
	testRule(t, CauseSocketPermission, []ruleCase{
		{"0600 root socket, with the log's denials", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = closed
			s.ErrorLogs = lines(entry(logs.PermissionDenied, fpm.Address, now.Add(-time.Minute)))
		}, true, true, 1},
		{"denied in the log only", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
			s.ErrorLogs = lines(entry(logs.PermissionDenied, fpm.Address, now.Add(-time.Minute)))
		}, true, false, 1},
		{"the workers may connect", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
		}, false, false, 0},
		{"a TCP denial is not about a socket", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.PermissionDenied, tcp3000.Address, now.Add(-time.Minute)))
		}, false, false, 0},
	})
	s := snap(fpm)
	s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
	s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, BlockedDir: "/run/php", Reason: "/run/php has no search permission"}
	if cs := Diagnose(s); len(cs) == 0 || cs[0].Facts.BlockedDir != "/run/php" || cs[0].Facts.Socket != fpm.Path || cs[0].Facts.WorkerUser != "www-data" {
		t.Fatalf("facts for the fix: %+v", cs)
	}
}
