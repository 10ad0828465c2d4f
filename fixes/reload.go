package fixes

import (
	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planReload offers a reload for config-not-loaded only: the running
// nginx does not run the file (its workers use addresses the file no longer
// has, or the last reload failed), so the fix is written but not in force.
// A config that fails nginx -t is never "fixed" by a reload (nginx would
// keep the old config and log an emerg).
func planReload(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID != checks.CauseConfigNotLoaded || o == nil || o.Snapshot == nil {
		return nil
	}
	s := o.Snapshot
	if !s.Install.Running || s.Install.MasterPID <= 0 || s.Config == nil || !s.ConfigTest.OK {
		return nil
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "reload"),
			Title: "Reload nginx: the running config is not " + s.Install.Config,
			Undo:  "A reload changes no file; to go back, revert the config file and reload again",
		},
		reloadNginx: true,
	}}
}
