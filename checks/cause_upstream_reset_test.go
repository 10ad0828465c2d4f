package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestUpstreamResetRule(t *testing.T) {
	answer := func(class string) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: class, Error: class}}
		}
	}
	testRule(t, CauseUpstreamReset, []ruleCase{
		{"reset instead of an answer", tcp3000, answer("reset"), true, true, 0},
		{"an answer", tcp3000, answer(""), false, false, 0},
		{"104 in the log", tcp3000, func(s *Snapshot) {
			answer("")(s)
			s.ErrorLogs = lines(entry(logs.Reset, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
}
