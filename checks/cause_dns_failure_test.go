package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestDNSFailureRule(t *testing.T) {
	named := nginx.Target{Kind: "http", Network: "tcp", Address: "api.internal:80", Host: "api.internal", Port: 80}
	testRule(t, CauseDNSFailure, []ruleCase{
		{"the name does not resolve now", named, func(s *Snapshot) {
			s.Probes[named.Address] = probe.Result{Status: probe.DNSError, Error: "no such host"}
		}, true, true, 0},
		{"it resolves", named, func(s *Snapshot) {
			s.Probes[named.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
		}, false, false, 0},
		{"could not be resolved at request time", named, func(s *Snapshot) {
			s.Probes[named.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.ResolveFailed, "api.internal", now.Add(-time.Minute)))
		}, true, false, 1},
		{"a resolver line about a name of no target", named, func(s *Snapshot) {
			s.Probes[named.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.ResolveFailed, "other.example", now.Add(-time.Minute)))
		}, false, false, 0},
	})
}
