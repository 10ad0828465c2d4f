package checks

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// manyPasses is snap with n locations passing to target, as on a big
// shared-hosting config; the last one's proxy_read_timeout is 1s.
func manyPasses(target nginx.Target, n int) *Snapshot {
	s := snap(target)
	p := s.Config.Passes[0]
	s.Config.Passes = nil
	s.Targets[0].Passes, s.Targets[0].ReferencedAt = nil, nil
	for i := range n {
		p.At = nginx.Pos{File: "/etc/nginx/sites-enabled/app", Line: 10 + 5*i}
		p.Settings = nginx.Settings{}
		if i == n-1 {
			p.Settings["proxy_read_timeout"] = []nginx.Directive{{Name: "proxy_read_timeout", Args: []string{"1s"}, At: nginx.Pos{File: "/etc/nginx/sites-enabled/app", Line: 11 + 5*i}}}
		}
		s.Config.Passes = append(s.Config.Passes, p)
		s.Targets[0].Passes = append(s.Targets[0].Passes, i)
		s.Targets[0].ReferencedAt = append(s.Targets[0].ReferencedAt, p.At)
	}
	return s
}

// A step with a line per pass lists at most MaxEvidence lines and counts the rest; past the
// cap, the line that shows the failure (the one pass whose read timeout
// the backend exceeds) is listed rather than dropped.
func TestStepEvidenceCapped(t *testing.T) {
	s := manyPasses(tcp3000, 3000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200, TTFB: 2 * time.Second}}
	r := checkTimeouts(context.Background(), s)
	if r.Status != Fail {
		t.Errorf("status %s, want fail: the backend answers after 2s and one pass waits 1s", r.Status)
	}
	if len(r.Evidence) != MaxEvidence+1 {
		t.Fatalf("got %d lines, want %d and a count", len(r.Evidence), MaxEvidence)
	}
	if last := r.Evidence[MaxEvidence]; !strings.Contains(last, fmt.Sprintf("and %d more lines", 3000-MaxEvidence)) {
		t.Errorf("last line %q does not count the other %d", last, 3000-MaxEvidence)
	}
	slow := fmt.Sprintf("/etc/nginx/sites-enabled/app:%d → 127.0.0.1:3000: proxy_read_timeout 1s (/etc/nginx/sites-enabled/app:%d)", 10+5*2999, 11+5*2999)
	if !strings.HasPrefix(r.Evidence[MaxEvidence-1], slow) {
		t.Errorf("the slow pass is not listed: line %d is %q, want %q...", MaxEvidence-1, r.Evidence[MaxEvidence-1], slow)
	}

	// Under the cap nothing changes: every pass, in order, no count.
	small := manyPasses(tcp3000, 3)
	if r := checkTargets(context.Background(), small); len(r.Evidence) != 3 || strings.Contains(strings.Join(r.Evidence, "\n"), "more lines") {
		t.Errorf("3 passes: got %q", r.Evidence)
	}
}

// A cause behind 50,000 passes names the first few and counts the rest.
func TestCauseConfigLineCapped(t *testing.T) {
	s := manyPasses(tcp3000, 50000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
	cs := Diagnose(s)
	if len(cs) == 0 || cs[0].ID != CauseBackendDown {
		t.Fatalf("got %v", ids(cs))
	}
	line := cs[0].Evidence[0]
	if !strings.HasPrefix(line, "config: proxy_pass http://127.0.0.1:3000 in location / (/etc/nginx/sites-enabled/app:10); ") ||
		!strings.HasSuffix(line, fmt.Sprintf("; and %d more passes", 50000-whereShown)) || strings.Count(line, "proxy_pass") != whereShown {
		t.Errorf("config line: %q", line)
	}
}

// BenchmarkStepsManyPasses runs the ten steps and the diagnosis on one
// backend behind 50,000 passes (a config of 50,000 server blocks): the
// steps format at most MaxEvidence lines each and the causes name
// whereShown passes, so this follows the passes once, not 150,000 lines
// (128 ms and 79 MB per run before the caps, 55 ms and 3.2 MB after).
//
//	go test ./checks -run '^$' -bench StepsManyPasses -benchmem
func BenchmarkStepsManyPasses(b *testing.B) {
	s := manyPasses(tcp3000, 50000)
	s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused}
	s.asks = s.workOutAsks()
	for b.Loop() {
		RunSteps(context.Background(), s, Steps(), nil)
		Diagnose(s)
	}
}
