package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// SELinux is not on this machine: its state, present or absent, is recorded
// in the snapshot.
func TestSELinuxDeniedRule(t *testing.T) {
	reject := host.Firewall{Rules: []host.Rule{{Tool: "iptables", Action: "reject", Port: 3000, Text: "-A OUTPUT -p tcp --dport 3000 -j REJECT"}}}
	testRule(t, CauseSELinuxDenied, []ruleCase{
		{"enforcing and denied now", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.PermissionDenied, Errno: 13}
			s.SELinux = host.SELinux{Available: true, Mode: "enforcing"}
		}, true, true, 0},
		{"denied on a host without SELinux: not SELinux's", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.PermissionDenied, Errno: 13}
			s.SELinux = host.SELinux{Note: "SELinux is not enabled on this host (no /sys/fs/selinux)"}
		}, false, false, 0},
		{"permissive: SELinux denies nothing", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.PermissionDenied, Errno: 13}
			s.SELinux = host.SELinux{Available: true, Mode: "permissive"}
		}, false, false, 0},
		{"the log's 13 on a host without SELinux", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.PermissionDenied, tcp3000.Address, now.Add(-time.Minute)))
		}, false, false, 0},
		{"denied with a REJECT rule: the firewall", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.PermissionDenied, Errno: 13}
			s.Firewall = reject
		}, false, false, 0},
		{"the log's 13 on a TCP target", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.SELinux = host.SELinux{Available: true, Mode: "enforcing"}
			s.ErrorLogs = lines(entry(logs.PermissionDenied, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.PermissionDenied, Errno: 13}
	s.SELinux = host.SELinux{Available: true, Mode: "enforcing"}
	if cs := Diagnose(s); len(cs) == 0 || cs[0].Facts.Port != 3000 {
		t.Fatalf("the fix needs the port: %+v", cs)
	}
}
