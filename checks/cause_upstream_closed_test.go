package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestUpstreamClosedRule(t *testing.T) {
	answer := func(class, speaks string) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: class, Speaks: speaks, Error: class}}
		}
	}
	testRule(t, CauseUpstreamClosed, []ruleCase{
		{"closed before answering", tcp3000, answer("closed", ""), true, true, 0},
		{"a broken pipe", tcp3000, answer("broken-pipe", ""), true, true, 0},
		{"closed because the port speaks TLS: tls-handshake", tcp3000, answer("closed", "tls"), false, false, 0},
		{"prematurely closed, per the log", tcp3000, func(s *Snapshot) {
			answer("", "")(s)
			s.ErrorLogs = lines(entry(logs.Closed, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
}
