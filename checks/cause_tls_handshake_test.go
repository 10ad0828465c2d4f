package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestTLSHandshakeRule(t *testing.T) {
	https := nginx.Target{Kind: "https", Network: "tcp", Address: "127.0.0.1:8443", Host: "127.0.0.1", Port: 8443}
	answer := func(t nginx.Target, class, speaks string) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Probes[t.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: class, Speaks: speaks, Error: "x"}}
		}
	}
	testRule(t, CauseTLSHandshake, []ruleCase{
		{"plain http:// to a TLS port", tcp3000, answer(tcp3000, "invalid-header", "tls"), true, true, 0},
		{"https:// to a plain port", https, answer(https, "tls", "http"), true, true, 0},
		{"https:// that works", https, answer(https, "", ""), false, false, 0},
		{"SSL_do_handshake() failed, per the log", tcp3000, func(s *Snapshot) {
			answer(tcp3000, "", "")(s)
			s.ErrorLogs = lines(entry(logs.TLS, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
}
