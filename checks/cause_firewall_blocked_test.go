package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestFirewallBlockedRule(t *testing.T) {
	rule := func(action string) host.Firewall {
		return host.Firewall{Tools: []string{"iptables"}, Rules: []host.Rule{{Tool: "iptables", Action: action, Port: 3000, Text: "-A OUTPUT -p tcp --dport 3000 -j " + action}}}
	}
	testRule(t, CauseFirewallBlocked, []ruleCase{
		{"REJECT: unreachable", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Unreachable, Errno: 113}
			s.Firewall = rule("reject")
		}, true, true, 0},
		{"DROP: connects time out, the log agrees", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Firewall = rule("drop")
			e := entry(logs.Timeout, tcp3000.Address, now.Add(-time.Minute))
			e.Phase = "connecting to upstream"
			s.ErrorLogs = lines(e)
		}, true, true, 1},
		{"a timeout with no rule and no listener", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
		}, true, true, 0},
		{"a timeout at a listener: overloaded, not the firewall", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Queue: 129, Backlog: 128}}
		}, false, false, 0},
		{"no route in the log only", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.NoRoute, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
}
