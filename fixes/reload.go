package fixes

import (
	"fmt"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planReload offers a reload when the config on disk is valid and newer
// than the running master: the fix may already be written but not in
// force. A config that fails nginx -t is never "fixed" by a reload (nginx
// would keep the old config and log an emerg).
func planReload(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	if c.ID == checks.CauseConfigInvalid || c.ID == checks.CauseNginxNotRunning || o == nil || o.Snapshot == nil {
		return nil
	}
	s := o.Snapshot
	if !s.Install.Running || s.Install.MasterPID <= 0 || s.Config == nil || !s.ConfigTest.OK {
		return nil
	}
	var started, changed string
	for _, p := range s.Processes {
		if p.PID == s.Install.MasterPID && !p.Started.IsZero() {
			for _, f := range s.Config.Files {
				// A process's start time is known to about a second (boot time
				// plus clock ticks): a file written at start is not a change.
				if fi, err := filesOf(o).lstat(f); err == nil && fi.ModTime.After(p.Started.Add(2*time.Second)) {
					started, changed = p.Started.Format("15:04:05"), f
					break
				}
			}
		}
	}
	if changed == "" {
		return nil
	}
	return []plan{{
		Fix: Fix{
			ID:    fixID(c.ID, c.Target, "reload"),
			Title: fmt.Sprintf("Reload nginx: %s changed after the master started (%s)", changed, started),
			Undo:  "A reload changes no file; to go back, revert the config file and reload again",
		},
		reloadNginx: true,
	}}
}
