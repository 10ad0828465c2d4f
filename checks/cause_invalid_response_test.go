package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
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
		{"HTTP to php-fpm, with nginx's resets counted in", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: "reset", Error: "connection reset by peer (104)"}}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Process: "php-fpm8.2", PID: 7}}
			s.ErrorLogs = lines(entry(logs.Reset, tcp3000.Address, now.Add(-time.Minute)), entry(logs.Reset, tcp3000.Address, now.Add(-time.Minute)))
		}, true, true, 2},
		{"FastCGI to gunicorn", fcgi3000, func(s *Snapshot) {
			s.Probes[fcgi3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "fastcgi", Class: "invalid-header", Speaks: "http", Error: "port speaks HTTP, not FastCGI (use proxy_pass)"}}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Process: "python3", PID: 8}}
			s.Processes = []host.Process{{PID: 8, Name: "python3", Cmdline: []string{"/usr/bin/python3", "/usr/bin/gunicorn", "-b", "127.0.0.1:3000", "app:app"}}}
		}, true, true, 0},
		{"HTTP to a uwsgi socket", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: "closed", Error: "backend closed the connection"}}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Process: "uwsgi", PID: 9}}
			s.Processes = []host.Process{{PID: 9, Name: "uwsgi", Cmdline: []string{"uwsgi", "--socket", "127.0.0.1:3000"}}}
		}, true, true, 0},
		{"a uwsgi that answers the probe in HTTP is no mismatch, whatever its name says", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Process: "uwsgi", PID: 9}}
			s.Processes = []host.Process{{PID: 9, Name: "uwsgi", Cmdline: []string{"uwsgi", "--socket", "127.0.0.1:3000"}}}
		}, false, false, 0},
		{"HTTP to an HTTP app server is no mismatch", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Process: "node", PID: 9}}
		}, false, false, 0},
		{"an invalid header, per the log", tcp3000, func(s *Snapshot) {
			answer("", "")(s)
			s.ErrorLogs = lines(entry(logs.InvalidHeader, tcp3000.Address, now.Add(-time.Minute)))
		}, true, false, 1},
	})
}

var fcgi3000 = nginx.Target{Kind: "fastcgi", Network: "tcp", Address: "127.0.0.1:3000", Host: "127.0.0.1", Port: 3000}

// The mismatch names both sides and the pass that would match.
func TestMismatchSummary(t *testing.T) {
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Class: "reset"}}
	s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Process: "php-fpm8.2", PID: 7, User: "www-data"}}
	cs := Diagnose(s)
	if len(cs) == 0 || cs[0].ID != CauseInvalidResponse {
		t.Fatalf("got %v, want invalid-response first", ids(cs))
	}
	for _, want := range []string{"nginx speaks HTTP", "php-fpm (pid 7, user www-data)", "speaks FastCGI", "Use fastcgi_pass 127.0.0.1:3000", "/etc/nginx/sites-enabled/app:12"} {
		if !strings.Contains(cs[0].Summary, want) {
			t.Errorf("summary %q lacks %q", cs[0].Summary, want)
		}
	}
	for _, c := range cs {
		if c.ID == CauseUpstreamReset {
			t.Errorf("the reset is the mismatch's, not upstream-reset: %s", c.Summary)
		}
	}
}
