package checks

import (
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

func TestNginxResourcesRule(t *testing.T) {
	for _, c := range []logs.Class{logs.TooManyFiles, logs.WorkerConns, logs.AddrNotAvail} {
		testRule(t, CauseNginxResources, []ruleCase{
			{string(c), tcp3000, func(s *Snapshot) { s.ErrorLogs = lines(entry(c, "", now.Add(-time.Minute))) }, true, false, 1},
			{string(c) + " before the window", tcp3000, func(s *Snapshot) { s.ErrorLogs = lines(entry(c, "", now.Add(-time.Hour))) }, false, false, 0},
		})
	}
}
