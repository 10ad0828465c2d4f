package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

var localhost3000 = nginx.Target{Kind: "http", Network: "tcp", Address: "localhost:3000", Host: "localhost", Port: 3000}

// answering is a moved-backend candidate that answered the request with status.
func answering(l host.Listener, who host.Identity, status int) Candidate {
	return Candidate{Listener: l, Who: who, Address: l.Address,
		Probe: probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: status, Request: "GET / Host: app"}}}
}

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
		{"a program on a nearby port that answers the request", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			l := host.Listener{Network: "tcp", Address: "127.0.0.1:3002", IP: "127.0.0.1", Port: 3002, Process: "myapp", PID: 9}
			s.Listeners = []host.Listener{l}
			s.Moved = map[string][]Candidate{tcp3000.Address: {answering(l, host.Identity{Name: "myapp"}, 200)}}
		}, true, true, 0},
		{"a nearby program that answers 404 is not the backend", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			l := host.Listener{Network: "tcp", Address: "127.0.0.1:3001", IP: "127.0.0.1", Port: 3001, Process: "other", PID: 9}
			s.Listeners = []host.Listener{l}
			s.Moved = map[string][]Candidate{tcp3000.Address: {answering(l, host.Identity{Name: "other"}, 404)}}
		}, false, false, 0},
		{"an application server on an ephemeral port that answers", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			l := node("127.0.0.1", 43117)
			s.Listeners = []host.Listener{l}
			s.Moved = map[string][]Candidate{tcp3000.Address: {answering(l, host.Identity{Name: "node", Speaks: "http", Role: host.RoleApp}, 200)}}
		}, true, true, 0},
		{"an unknown program far away that answers is not enough", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			l := host.Listener{Network: "tcp", Address: "127.0.0.1:3100", IP: "127.0.0.1", Port: 3100, Process: "x", PID: 9}
			s.Listeners = []host.Listener{l}
			s.Moved = map[string][]Candidate{tcp3000.Address: {answering(l, host.Identity{Name: "x"}, 200)}}
		}, false, false, 0},
		{"a name whose other address refuses", localhost3000, func(s *Snapshot) {
			s.Probes[localhost3000.Address] = probe.Result{Status: probe.Connected, Resolved: []string{"::1", "127.0.0.1"},
				Peers: []probe.Peer{{Address: "[::1]:3000", Status: probe.Refused, Errno: 111, Error: "connection refused"}, {Address: "127.0.0.1:3000", Status: probe.Connected}},
				HTTP:  &probe.HTTP{Protocol: "http", Status: 200}}
			s.ErrorLogs = lines(entry(logs.Refused, "[::1]:3000", now.Add(-time.Minute)))
		}, true, true, 1},
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
