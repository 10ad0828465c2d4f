package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestWrongAddressRule(t *testing.T) {
	node := func(ip string, port int) host.Listener {
		return host.Listener{Network: "tcp", Address: ip, IP: ip, Port: port, Process: "node", PID: 9}
	}
	testRule(t, CauseWrongAddress, []ruleCase{
		{"the other loopback family, with the log's refusals", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{node("::1", 3000)}
			s.ErrorLogs = lines(entry(logs.Refused, tcp3000.Address, now.Add(-time.Minute)))
		}, true, true, 1},
		{"a nearby port", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{node("127.0.0.1", 3002)}
		}, true, true, 0},
		{"a far port is not an alternative", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{node("127.0.0.1", 3100)}
		}, false, false, 0},
		{"a socket beside the missing one", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.NoSuchFile}
			s.Listeners = []host.Listener{{Network: "unix", Address: "/run/php/php8.1-fpm.sock", Process: "php-fpm8.1"}}
		}, true, true, 0},
		{"refusals in the log alone do not make it", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.Refused, tcp3000.Address, now.Add(-time.Minute)))
		}, false, false, 0},
	})
}
