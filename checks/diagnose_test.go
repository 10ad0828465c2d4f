package checks

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

var now = time.Date(2026, 11, 24, 5, 30, 0, 0, time.UTC)

// snap builds a snapshot of one running nginx with one proxy_pass to target.
func snap(t nginx.Target) *Snapshot {
	cfg := &nginx.Config{Main: "/etc/nginx/nginx.conf", Passes: []nginx.Pass{{
		Directive: "proxy_pass", Value: "http://" + t.Address, Module: "proxy", Scheme: "http", Address: t.Address,
		At: nginx.Pos{File: "/etc/nginx/sites-enabled/app", Line: 12}, Location: "/", Server: -1, Settings: nginx.Settings{},
	}}}
	t.Passes = []int{0}
	t.ReferencedAt = []nginx.Pos{cfg.Passes[0].At}
	return &Snapshot{
		Install:    nginx.Install{Running: true, Config: cfg.Main},
		Config:     cfg,
		Targets:    []nginx.Target{t},
		ConfigTest: ConfigTest{Ran: true, OK: true},
		Since:      now.Add(-15 * time.Minute),
		Probes:     map[string]probe.Result{},
		Units:      map[string]host.Unit{},
		Sockets:    map[string]Socket{},
		WorkerUser: host.User{Name: "www-data", UID: 33, GID: 33},
	}
}

var tcp3000 = nginx.Target{Kind: "http", Network: "tcp", Address: "127.0.0.1:3000", Host: "127.0.0.1", Port: 3000}
var fpm = nginx.Target{Kind: "fastcgi", Network: "unix", Address: "unix:/run/php/php8.2-fpm.sock", Path: "/run/php/php8.2-fpm.sock"}

func entry(class logs.Class, target string, at time.Time) logs.Entry {
	return logs.Entry{Time: at, Level: "error", Class: class, Target: target, Raw: string(class) + " " + target}
}

func TestDiagnose(t *testing.T) {
	ok200 := probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200, HeaderBytes: 200, TTFB: time.Millisecond}}
	tests := []struct {
		name   string
		target nginx.Target
		edit   func(s *Snapshot)
		want   string // top cause id; "" = healthy
		occ    int
	}{
		{"healthy", tcp3000, func(s *Snapshot) { s.Probes[tcp3000.Address] = ok200 }, "", 0},
		{"refused, nothing anywhere", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused, Errno: 111}
			s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{entry(logs.Refused, "127.0.0.1:3000", now.Add(-time.Minute))}}}
		}, "backend-down", 1},
		{"refused, backend on ::1", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "[::1]:3000", IP: "::1", Port: 3000, Process: "node", PID: 9}}
		}, "wrong-address", 0},
		{"refused, node on a nearby fixed port answering the request", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			l := host.Listener{Network: "tcp", Address: "127.0.0.1:3001", IP: "127.0.0.1", Port: 3001, Process: "node", PID: 9}
			s.Listeners = []host.Listener{l}
			s.Moved = map[string][]Candidate{tcp3000.Address: {answering(l, host.Identity{Name: "node", Speaks: "http", Role: host.RoleApp}, 200)}}
		}, "wrong-address", 0},
		{"refused, node on a nearby port that was not asked is not the backend", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3001", IP: "127.0.0.1", Port: 3001, Process: "node", PID: 9}}
		}, "backend-down", 0},
		{"refused, only an ephemeral-port listener nearby is not a backend", nginx.Target{Kind: "http", Network: "tcp", Address: "127.0.0.1:40000", Host: "127.0.0.1", Port: 40000}, func(s *Snapshot) {
			s.Probes["127.0.0.1:40000"] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:40003", IP: "127.0.0.1", Port: 40003, Process: "x.test"}}
		}, "backend-down", 0},
		{"refused, postgres nearby is not a backend", nginx.Target{Kind: "http", Network: "tcp", Address: "127.0.0.1:5433", Host: "127.0.0.1", Port: 5433}, func(s *Snapshot) {
			s.Probes["127.0.0.1:5433"] = probe.Result{Status: probe.Refused}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:5432", IP: "127.0.0.1", Port: 5432, Process: "postgres"}}
		}, "backend-down", 0},
		{"log lines older than the window are not evidence", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = ok200
			s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{entry(logs.Refused, "127.0.0.1:3000", now.Add(-time.Hour))}}}
		}, "", 0},
		{"log lines about an address no longer configured are not evidence", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = ok200
			s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{entry(logs.Refused, "127.0.0.1:3999", now.Add(-time.Minute))}}}
		}, "", 0},
		{"refused in the log, healthy now: a flapping backend", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = ok200
			s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{
				entry(logs.Refused, "127.0.0.1:3000", now.Add(-2*time.Minute)),
				entry(logs.Refused, "127.0.0.1:3000", now.Add(-time.Minute))}}}
		}, "backend-down", 2},
		{"socket closed to www-data", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.Connected}
			s.Sockets[fpm.Path] = Socket{Exists: true, IsSocket: true, Owner: "root", Group: "root",
				Info: host.FileInfo{Mode: fs.ModeSocket | 0o600}, Reason: "socket root:root 0600"}
			s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{entry(logs.PermissionDenied, fpm.Address, now.Add(-time.Minute))}}}
		}, "socket-permission", 1},
		{"socket missing, php8.1's beside it", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.NoSuchFile}
			s.Listeners = []host.Listener{{Network: "unix", Address: "/run/php/php8.1-fpm.sock", Process: "php-fpm8.1"}}
		}, "wrong-address", 0},
		{"socket missing", fpm, func(s *Snapshot) {
			s.Probes[fpm.Address] = probe.Result{Status: probe.NoSuchFile}
		}, "socket-missing", 0},
		{"REJECT rule on the port", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Unreachable, Errno: 113}
			s.Firewall = host.Firewall{Tools: []string{"iptables"}, Rules: []host.Rule{{Tool: "iptables", Action: "reject", Port: 3000, Text: "-A OUTPUT -p tcp --dport 3000 -j REJECT"}}}
		}, "firewall-blocked", 0},
		{"SELinux denies (recorded: no SELinux on this machine)", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = ok200 // root's probe is not confined by SELinux
			s.SELinux = host.SELinux{Available: true, Mode: "enforcing"}
			s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{entry(logs.PermissionDenied, "127.0.0.1:3000", now.Add(-time.Minute))}}}
		}, "selinux-denied", 1},
		{"full accept queue", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Timeout}
			s.Listeners = []host.Listener{{Network: "tcp", Address: "127.0.0.1:3000", IP: "127.0.0.1", Port: 3000, Queue: 129, Backlog: 128}}
		}, "backend-overloaded", 0},
		{"header bigger than the default buffer", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200, HeaderBytes: 16000}}
		}, "header-too-big", 0},
		{"nginx -t fails", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = ok200
			s.ConfigTest = ConfigTest{Ran: true, OK: false, Output: "nginx: [emerg] unknown directive \"proxy_pas\" in /etc/nginx/sites-enabled/app:12"}
		}, "config-invalid", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(tc.target)
			tc.edit(s)
			cs := Diagnose(s)
			if tc.want == "" {
				if len(cs) != 0 {
					t.Fatalf("got %s, want no cause", cs[0].ID)
				}
				return
			}
			if len(cs) == 0 {
				t.Fatalf("got no cause, want %s", tc.want)
			}
			if string(cs[0].ID) != tc.want {
				t.Fatalf("got %s (%s), want %s", cs[0].ID, cs[0].Summary, tc.want)
			}
			if cs[0].Occurrences != tc.occ {
				t.Errorf("occurrences: got %d, want %d", cs[0].Occurrences, tc.occ)
			}
			if cs[0].Summary == "" || len(cs[0].Evidence) == 0 {
				t.Errorf("a cause needs a summary and evidence: %+v", cs[0])
			}
		})
	}
}

func TestWrongAddressNamesTheAlternative(t *testing.T) {
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
	s.Listeners = []host.Listener{{Network: "tcp", Address: "[::1]:3000", IP: "::1", Port: 3000, Process: "node", PID: 9}}
	c := Diagnose(s)[0]
	if got := c.Facts.Alternative; got != "[::1]:3000" {
		t.Errorf("alternative: got %q, want [::1]:3000", got)
	}
	if !strings.Contains(c.Summary, "[::1]:3000") {
		t.Errorf("summary should say where the backend listens: %q", c.Summary)
	}
}

func TestNoLiveUpstreamsFollows(t *testing.T) {
	s := snap(tcp3000)
	s.Targets[0].Upstream = "app"
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
	s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{
		entry(logs.NoLiveUpstreams, "app", now.Add(-time.Minute)),
		entry(logs.NoLiveUpstreams, "app", now.Add(-time.Minute)),
		entry(logs.NoLiveUpstreams, "app", now.Add(-time.Minute)),
		entry(logs.Refused, "127.0.0.1:3000", now.Add(-time.Minute)),
	}}}
	cs := Diagnose(s)
	if len(cs) != 2 || cs[0].ID != "backend-down" || cs[1].ID != "no-live-upstreams" {
		t.Fatalf("got %v, want backend-down then no-live-upstreams", ids(cs))
	}
	if cs[1].FollowsFrom != "backend-down" {
		t.Errorf("no-live-upstreams follows from %q, want backend-down", cs[1].FollowsFrom)
	}
}

func ids(cs []Cause) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.ID))
	}
	return out
}

// TestRunStepsContainsFailures: a check that panics or overruns its
// deadline becomes that check's error result; the other checks still run.
func TestRunStepsContainsFailures(t *testing.T) {
	s := snap(tcp3000)
	s.Options.Timeout = 50 * time.Millisecond
	steps := []Step{{Number: 1, Title: "one", Checks: []Check{
		{ID: "panics", Run: func(context.Context, *Snapshot) Result { panic("boom") }},
		{ID: "hangs", Run: func(ctx context.Context, _ *Snapshot) Result { time.Sleep(10 * time.Second); return Result{} }},
		{ID: "fine", Run: func(context.Context, *Snapshot) Result { return Result{Status: Pass, Summary: "ok"} }},
	}}}
	start := time.Now()
	got := RunSteps(context.Background(), s, steps, nil)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a hanging check held the run for %s", d)
	}
	byID := map[string]Result{}
	for _, r := range got[0].Checks {
		byID[r.ID] = r
	}
	if r := byID["panics"]; r.Status != Error || !strings.Contains(r.Summary, "boom") {
		t.Errorf("panicking check: got %s %q, want error naming the panic", r.Status, r.Summary)
	}
	if r := byID["hangs"]; r.Status != Error || !strings.Contains(r.Summary, "did not finish") {
		t.Errorf("hanging check: got %s %q, want error saying it did not finish", r.Status, r.Summary)
	}
	if byID["fine"].Status != Pass {
		t.Errorf("the healthy check: got %s, want pass", byID["fine"].Status)
	}
	if got[0].Status != Error {
		t.Errorf("step status: got %s, want error", got[0].Status)
	}
}

// TestVerdictNamesABackendsOwn5xx: a backend answering 503 itself is the
// cause backend-error (exit 1), not a healthy setup.
func TestVerdictNamesABackendsOwn5xx(t *testing.T) {
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 503}}
	cs := Diagnose(s)
	v := verdict(s, cs)
	if len(cs) != 1 || cs[0].ID != CauseBackendError || v.Status != "problem" {
		t.Fatalf("got %v and %s, want backend-error and a problem", ids(cs), v.Status)
	}
	if !strings.Contains(v.Summary, "127.0.0.1:3000 answers 503 itself") {
		t.Errorf("verdict should point at the backend's own 503: %q", v.Summary)
	}
}

// TestServiceHistoryJoinsTheCause (recorded systemd state: no systemd runs
// on these machines): a flapping backend's cause carries its restarts and
// OOM kills.
func TestServiceHistoryJoinsTheCause(t *testing.T) {
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	s.ErrorLogs = []logs.ErrorLog{{Entries: []logs.Entry{entry(logs.Closed, "127.0.0.1:3000", now.Add(-time.Minute))}}}
	s.Units[tcp3000.Address] = host.Unit{Name: "app.service", Active: "active", Restarts: 7,
		OOMKills: []string{"Out of memory: Killed process 901 (node) total-vm:1843212kB"}}
	cs := Diagnose(s)
	if len(cs) != 1 || cs[0].ID != "upstream-closed" {
		t.Fatalf("got %v, want upstream-closed", ids(cs))
	}
	ev := strings.Join(cs[0].Evidence, "\n")
	for _, want := range []string{"app.service is active, restarted 7 times", "kernel: Out of memory: Killed process 901"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
}

// TestCauseSaysWhere: a cause names the pass and server lines behind its
// target (file:line) and how many of its group's servers are down.
func TestCauseSaysWhere(t *testing.T) {
	a := nginx.Target{Kind: "http", Network: "tcp", Address: "127.0.0.1:3000", Host: "127.0.0.1", Port: 3000, Upstream: "app",
		Server: &nginx.UpstreamServer{Address: "127.0.0.1:3000", At: nginx.Pos{File: "/etc/nginx/sites-enabled/app", Line: 2}}}
	s := snap(a)
	b := a
	b.Address, b.Port = "127.0.0.1:3001", 3001
	b.Server = &nginx.UpstreamServer{Address: "127.0.0.1:3001", At: nginx.Pos{File: "/etc/nginx/sites-enabled/app", Line: 3}}
	s.Targets = append(s.Targets, b)
	s.Probes[a.Address] = probe.Result{Status: probe.Refused}
	s.Probes[b.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	cs := Diagnose(s)
	if len(cs) != 1 || cs[0].ID != CauseBackendDown {
		t.Fatalf("got %v", ids(cs))
	}
	ev := strings.Join(cs[0].Evidence, "\n")
	for _, want := range []string{
		"config: proxy_pass http://127.0.0.1:3000 in location / (/etc/nginx/sites-enabled/app:12); server 127.0.0.1:3000 in upstream app (/etc/nginx/sites-enabled/app:2)",
		"upstream app: 1 of 2 servers do not accept connections",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
}
