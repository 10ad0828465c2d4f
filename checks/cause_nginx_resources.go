package checks

import "github.com/ngxdoctor/ngxdoctor/checks/logs"

// nginx-resources: nginx itself runs out of open files (24),
// worker_connections or local ports (99).
var nginxResourcesRule = Rule{
	ID:        CauseNginxResources,
	Step:      8,
	LogProves: true,
	Unattached: func(s *Snapshot, e logs.Entry) (Cause, bool) {
		switch e.Class {
		case logs.TooManyFiles, logs.WorkerConns, logs.AddrNotAvail:
			return Cause{ID: CauseNginxResources, Target: "nginx", Confidence: High, Logged: true,
				Summary: "nginx itself runs out of " + resourceName(e.Class) + "."}, true
		}
		return Cause{}, false
	},
}
