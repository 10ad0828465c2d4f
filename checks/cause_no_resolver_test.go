package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

func TestNoResolverRule(t *testing.T) {
	dynamic := nginx.Target{Kind: "http", Network: "tcp", Address: "$backend", Dynamic: true}
	testRule(t, CauseNoResolver, []ruleCase{
		{"a pass with variables and no resolver", dynamic, func(s *Snapshot) {
			s.ErrorLogs = lines(entry(logs.NoResolver, "app.internal", now.Add(-time.Minute)))
		}, true, false, 1},
		{"the line is older than the window", dynamic, func(s *Snapshot) {
			s.ErrorLogs = lines(entry(logs.NoResolver, "app.internal", now.Add(-time.Hour)))
		}, false, false, 0},
		{"no pass with variables, no such target", tcp3000, func(s *Snapshot) {
			s.ErrorLogs = lines(entry(logs.NoResolver, "app.internal", now.Add(-time.Minute)))
		}, false, false, 0},
	})
	s := snap(dynamic)
	s.ErrorLogs = lines(entry(logs.NoResolver, "app.internal", now.Add(-time.Minute)))
	if cs := Diagnose(s); len(cs) == 0 || cs[0].Facts.PassAt != "/etc/nginx/sites-enabled/app:12" || cs[0].Confidence != High {
		t.Fatalf("the resolver fix needs the pass, and the log alone proves it: %+v", cs)
	}
}
