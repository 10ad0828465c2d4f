package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestBackendDownRule(t *testing.T) {
	testRule(t, CauseBackendDown, []ruleCase{
		{"refused, nothing listens", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused, Errno: 111}
		}, true, true, 0},
		{"refused now and in the log", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused, Errno: 111}
			s.ErrorLogs = lines(entry(logs.Refused, tcp3000.Address, now.Add(-time.Minute)))
		}, true, true, 1},
		{"refused in the log only", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.Refused, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
		{"a stale socket", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Refused}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
		}, true, true, 0},
		{"refused but the backend listens on ::1: wrong-address", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "[::1]:3000", IP: "::1", Port: 3000, Process: "node", PID: 9}}
		}, false, false, 0},
		{"connected", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
		}, false, false, 0},
	})
}
