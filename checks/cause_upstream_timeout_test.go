package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

func TestUpstreamTimeoutRule(t *testing.T) {
	slowTo := func(limit string) func(s *Snapshot) {
		return func(s *Snapshot) {
			s.Config.Passes[0].Settings = nginx.Settings{"proxy_read_timeout": {{Name: "proxy_read_timeout", Args: []string{limit}, At: nginx.Pos{File: "/etc/nginx/sites-enabled/app", Line: 13}}}}
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200, TTFB: 2 * time.Second}}
		}
	}
	testRule(t, CauseUpstreamTimeout, []ruleCase{
		{"answers in 2s, proxy_read_timeout 1s", tcp3000, slowTo("1s"), true, true, 0},
		{"answers in 2s, proxy_read_timeout 5s", tcp3000, slowTo("5s"), false, false, 0},
		{"timed out reading the header, per the log", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			e := entry(logs.Timeout, tcp3000.Address, now.Add(-time.Minute))
			e.Phase = "reading response header from upstream"
			s.ErrorLogs = lines(e)
		}, true, false, 1},
		{"a connect timeout is not a read timeout", tcp3000, func(s *Snapshot) {
			s.Probes[tcp3000.Address] = probe.Result{Status: probe.Connected, HTTP: &probe.HTTP{Protocol: "http", Status: 200}}
			e := entry(logs.Timeout, tcp3000.Address, now.Add(-time.Minute))
			e.Phase = "connecting to upstream"
			s.ErrorLogs = lines(e)
		}, false, false, 0},
	})
	s := snap(tcp3000)
	slowTo("1s")(s)
	cs := Diagnose(s)
	if len(cs) == 0 || cs[0].Facts.Setting != "proxy_read_timeout" || cs[0].Facts.SettingAt != "/etc/nginx/sites-enabled/app:13" || cs[0].Facts.Took != 2*time.Second {
		t.Fatalf("facts for the fix: %+v", cs)
	}
}
