package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestBackendOverloadedRule(t *testing.T) {
	full := host.Listener{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Queue: 129, Backlog: 128}
	testRule(t, CauseBackendOverloaded, []ruleCase{
		{"a full accept queue", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Listeners = []host.Listener{full}
		}, true, true, 0},
		{"a unix socket that does not accept", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Timeout}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
		}, true, true, 0},
		{"11: Resource temporarily unavailable in the log", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
			s.ErrorLogs = lines(entry(logs.Again, fpm.Address, now.Add(-time.Minute)), entry(logs.Again, fpm.Address, now.Add(-time.Second)))
		}, true, false, 2},
		{"a DROP rule: the firewall", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Listeners = []host.Listener{full}
			s.Firewall = host.Firewall{Rules: []host.Rule{{Tool: "iptables", Action: "drop", Port: 3000}}}
		}, false, false, 0},
	})
}

// The php-fpm pool behind the socket, and php-fpm's own warnings, name the
// limit that was reached; the fix gets the pool.
func TestBackendOverloadedNamesThePool(t *testing.T) {
	s := snap(fpm)
	s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
	s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, WorkerMay: true}
	s.ErrorLogs = lines(entry(logs.Again, fpm.Address, now.Add(-time.Minute)))
	pool := host.Pool{Name: "www", File: "/etc/php/8.2/fpm/pool.d/www.conf", Line: 1, Listen: fpm.Path, ListenBacklog: 8,
		PM: "dynamic", MaxChildren: 5, MaxChildrenLine: 9, MaxChildrenReached: 2}
	warn := "[01-Dec-2026 10:00:00] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it"
	s.PHPFPM = []host.FPM{{PID: 812, Binary: "/usr/sbin/php-fpm8.2", Config: "/etc/php/8.2/fpm/php-fpm.conf", ErrorLog: "/var/log/php8.2-fpm.log",
		Pools: []host.Pool{pool}, Log: []host.FPMLine{{Pool: "www", Text: warn}, {Pool: "www", Text: warn}}}}
	cs := Diagnose(s)
	if len(cs) == 0 || cs[0].ID != CauseBackendOverloaded {
		t.Fatalf("got %v", ids(cs))
	}
	c := cs[0]
	text := c.Summary + "\n" + strings.Join(c.Evidence, "\n")
	for _, want := range []string{"pool [www]", "pm.max_children is 5", "2 \"server reached pm.max_children\" warnings", "php-fpm log: " + warn,
		"/etc/php/8.2/fpm/pool.d/www.conf:9", "listen.backlog 8"} {
		if !strings.Contains(text, want) {
			t.Errorf("cause lacks %q:\n%s", want, text)
		}
	}
	if c.Confidence != High {
		t.Errorf("confidence %s: php-fpm's own word beside nginx's makes it high", c.Confidence)
	}
	if f := c.Facts.PHPFPM; f == nil || f.Master != 812 || f.Pool.MaxChildrenLine != 9 || f.MasterConfig != "/etc/php/8.2/fpm/php-fpm.conf" {
		t.Errorf("facts for the fix: got %+v", c.Facts.PHPFPM)
	}
}
