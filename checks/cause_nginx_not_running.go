package checks

import "fmt"

// nginx-not-running: no master runs for the config; clients get no answer
// at all, not a 502.
var nginxNotRunningRule = Rule{
	ID:   CauseNginxNotRunning,
	Step: 5,
	Nginx: func(s *Snapshot) []Cause {
		if s.Install.Running {
			return nil
		}
		// Masters of other configs are named, never taken for this one.
		ev := []string{"process table: no \"nginx: master process\" runs " + s.Install.Config}
		for _, m := range s.Install.Masters {
			ev = append(ev, "also running: "+m.String())
		}
		return []Cause{{ID: CauseNginxNotRunning, Target: "nginx", Live: true, Confidence: High,
			Summary:  fmt.Sprintf("No nginx master process is running for %s: clients get no answer at all, not a 502.", s.Install.Config),
			Evidence: ev}}
	},
}
