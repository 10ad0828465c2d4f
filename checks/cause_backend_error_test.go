package checks

import (
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestBackendErrorRule(t *testing.T) {
	answers := func(st int) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: st}}
		}
	}
	export := func(direct int, lines ...logs.Entry) func(s *Snapshot) {
		return func(s *Snapshot) {
			answers(200)(s)
			s.Replays = []Replay{{Method: "GET", Path: "/export", Host: "shop.test", Pass: 0, Status: 502, Lines: lines, Direct: map[string]int{tcp3000.Address: direct}}}
		}
	}
	testRule(t, CauseBackendError, []ruleCase{
		{"GET / answers 502 asked directly", tcp3000, answers(502), true, true, 0},
		{"GET / answers 200", tcp3000, answers(200), false, false, 0},
		{"GET /export: 502 through nginx and directly", tcp3000, export(502), true, true, 0},
		{"GET /export: 502 through nginx, 200 directly", tcp3000, export(200), false, false, 0},
		{"GET /export: nginx logged an upstream error for it", tcp3000, export(502, entry(logs.Reset, tcp3000.Address, now)), false, false, 0},
	})
}

func TestFailingRequestWithoutCause(t *testing.T) {
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	s.Replays = []Replay{
		{Method: "GET", Path: "/export", Host: "shop.test", Pass: 0, Status: 502, Direct: map[string]int{tcp3000.Address: 200}},
		{Method: "GET", Path: "/", Host: "shop.test", Pass: 0, Status: 200},
	}
	cs := Diagnose(s)
	v := verdict(s, cs)
	if len(cs) != 0 || v.Status != "problem" {
		t.Fatalf("got %v, %s: a failing request through nginx is never ok", ids(cs), v.Status)
	}
	if want := "nginx answers 502 for GET /export on shop.test; no cause found: "; len(v.Summary) < len(want) || v.Summary[:len(want)] != want {
		t.Fatalf("verdict: %q", v.Summary)
	}
}

func TestFailingRequestNamesWhatWorks(t *testing.T) {
	s := snap(tcp3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
	s.Replays = []Replay{
		{Method: "GET", Path: "/export", Host: "shop.test", Pass: 0, Status: 502, Lines: []logs.Entry{entry(logs.Closed, tcp3000.Address, now)}},
		{Method: "GET", Path: "/", Host: "shop.test", Pass: 0, Status: 200},
	}
	cs := Diagnose(s)
	if len(cs) != 1 || cs[0].ID != CauseUpstreamClosed || !cs[0].Live {
		t.Fatalf("the request's own line is live evidence of its cause: %+v", cs)
	}
	if want := "GET /export fails, GET / works."; !strings.HasSuffix(cs[0].Summary, want) {
		t.Fatalf("summary %q, want it to end %q", cs[0].Summary, want)
	}
	if v := verdict(s, cs); v.Status != "problem" || strings.Contains(v.Summary, "Not explained") {
		t.Fatalf("verdict: %+v", v)
	}
}
