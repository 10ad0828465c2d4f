package fixes

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planService restarts the backend's systemd unit when nothing accepts at
// the target or the backend closes connections, showing its last log lines
// before and after so the engineer sees why it was down.
func planService(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	switch c.ID {
	case checks.CauseBackendDown, checks.CauseUpstreamClosed, checks.CauseSocketMissing:
	default:
		return nil
	}
	if !e.systemd() {
		return nil
	}
	unit := c.Facts.Unit
	state := ""
	if o != nil && o.Snapshot != nil {
		if u, ok := o.Snapshot.Units[c.Target]; ok {
			if unit == "" {
				unit = u.Name
			}
			if u.Name == unit {
				state = u.Active
			}
		}
	}
	if !unitName.MatchString(unit) {
		return nil
	}
	undo := "A restart cannot be undone; the unit's log shows what happened"
	var undoArgv [][]string
	if state != "" && state != "active" && state != "activating" && state != "reloading" {
		// It was down before: undo puts it back down.
		undo = "ngxdoctor undo stops " + unit + " again (it was " + state + ")"
		undoArgv = [][]string{{"systemctl", "stop", unit}}
	}
	title := fmt.Sprintf("Restart %s", unit)
	if state != "" {
		title += fmt.Sprintf(" (now %s)", state)
	}
	return []plan{{
		Fix: Fix{
			ID:      fixID(c.ID, c.Target, "restart"),
			Title:   title,
			Undo:    undo,
			Warning: "A restart drops the requests the backend is serving now; if it keeps dying, its log above says why",
		},
		commands: [][]string{{"systemctl", "restart", unit}},
		undo:     undoArgv,
		show:     [][]string{{"journalctl", "-u", unit, "-n", "10", "--no-pager"}},
	}}
}
