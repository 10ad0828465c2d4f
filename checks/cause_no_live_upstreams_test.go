package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestNoLiveUpstreamsRule(t *testing.T) {
	member := nginx.Target{Kind: "http", Network: "tcp", Address: "127.0.0.1:3000", Host: "127.0.0.1", Port: 3000, Upstream: "app"}
	testRule(t, CauseNoLiveUpstreams, []ruleCase{
		{"every server of app failed", member, func(s *Snapshot) {
			s.ErrorLogs = lines(entry(logs.NoLiveUpstreams, "app", now.Add(-time.Minute)), entry(logs.NoLiveUpstreams, "app", now.Add(-time.Second)))
		}, true, false, 2},
		{"a group this config does not have", member, func(s *Snapshot) {
			s.ErrorLogs = lines(entry(logs.NoLiveUpstreams, "other", now.Add(-time.Minute)))
		}, false, false, 0},
	})
	s := snap(member)
	s.Probes[member.Address] = probe.Result{Status: probe.Refused}
	s.ErrorLogs = lines(entry(logs.NoLiveUpstreams, "app", now.Add(-time.Minute)))
	cs := Diagnose(s)
	if len(cs) != 2 || cs[0].ID != CauseBackendDown || cs[1].FollowsFrom != CauseBackendDown {
		t.Fatalf("no-live-upstreams follows from its server's cause: %v", ids(cs))
	}
}
