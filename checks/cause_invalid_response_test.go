package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestInvalidResponseRule(t *testing.T) {
	answer := func(class, speaks string) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: class, Speaks: speaks, Error: "the port speaks SSH"}}
		}
	}
	testRule(t, CauseInvalidResponse, []ruleCase{
		{"SSH on the port", tcp3000, answer("invalid-header", "ssh"), true, true, 0},
		{"TLS on a plain pass: tls-handshake", tcp3000, answer("invalid-header", "tls"), false, false, 0},
		{"an invalid header, per the log", tcp3000, func(s *Snapshot) {
			answer("", "")(s)
			s.ErrorLogs = lines(entry(logs.InvalidHeader, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
}
