package checks

import (
	"io/fs"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestSocketMissingRule(t *testing.T) {
	testRule(t, CauseSocketMissing, []ruleCase{
		{"no file", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.NoSuchFile}
		}, true, true, 0},
		{"a regular file at the path", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Refused}
			s.Sockets[fpm.Path] = Socket{Exists: true, Info: host.FileInfo{Mode: 0o644}}
		}, true, true, 0},
		{"missing in the log only", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true, Info: host.FileInfo{Mode: fs.ModeSocket | 0o660}}
			s.ErrorLogs = lines(entry(logs.NoSuchFile, fpm.Address, now.Add(-time.Minute)))
		}, true, false, 1},
		{"a socket beside it: wrong-address", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.NoSuchFile}
			s.Listeners = []host.Listener{{Network: "unix", Address: "/run/php/php8.1-fpm.sock", Process: "php-fpm8.1"}}
		}, false, false, 0},
	})
}
