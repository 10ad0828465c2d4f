package checks

import "testing"

func TestNginxNotRunningRule(t *testing.T) {
	testRule(t, CauseNginxNotRunning, []ruleCase{
		{"no master", tcp3000, func(s *Snapshot) { s.Install.Running = false }, true, true, 0},
		{"a master runs", tcp3000, func(s *Snapshot) {}, false, false, 0},
	})
}
