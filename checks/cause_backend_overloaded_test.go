package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestBackendOverloadedRule(t *testing.T) {
	full := host.Listener{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Queue: 129, Backlog: 128}
	testRule(t, CauseBackendOverloaded, []ruleCase{
		{"a full accept queue", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Listeners = []host.Listener{full}
		}, true, true, 0},
		{"a unix socket that does not accept", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Timeout}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
		}, true, true, 0},
		{"11: Resource temporarily unavailable in the log", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
			s.ErrorLogs = lines(entry(logs.Again, fpm.Address, now.Add(-time.Minute)), entry(logs.Again, fpm.Address, now.Add(-time.Second)))
		}, true, false, 2},
		{"a DROP rule: the firewall", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Listeners = []host.Listener{full}
			s.Firewall = host.Firewall{Rules: []host.Rule{{Tool: "iptables", Action: "drop", Port: 3000}}}
		}, false, false, 0},
	})
}
