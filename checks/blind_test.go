package checks

import (
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// With every error log above "error", the access log's gateway errors are
// the causes' evidence; an error log at "error" or below is not blind.
func TestBlindErrorLog(t *testing.T) {
	for _, tc := range []struct {
		level string
		blind bool
	}{{"crit", true}, {"alert", true}, {"error", false}, {"warn", false}, {"", false}} {
		s := snap(tcp3000)
		s.Config.ErrorLogs = []nginx.LogFile{{Path: "/var/log/nginx/error.log", Level: tc.level, At: nginx.Pos{File: "/etc/nginx/nginx.conf", Line: 4}}}
		s.Access = []logs.AccessLog{{Path: "/var/log/nginx/access.log", Requests: 40, Status: map[int]int{502: 37}}}
		s.Probes[tcp3000.Address] = probe.Result{Status: probe.Refused, Errno: 111}
		cs := Diagnose(s)
		if len(cs) == 0 || cs[0].ID != CauseBackendDown {
			t.Fatalf("level %q: got %v", tc.level, ids(cs))
		}
		quoted := strings.Contains(strings.Join(cs[0].Evidence, "\n"), "37 of 40 requests in the last 15m got 502/503/504")
		if quoted != tc.blind || s.allBlind() != tc.blind {
			t.Errorf("level %q: access log quoted %v, blind %v; want %v", tc.level, quoted, s.allBlind(), tc.blind)
		}
	}
}
