package fixes

import (
	"fmt"
	"os/user"
	"strconv"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// planFileAccess gives nginx's workers the one permission they lack on the
// way to a file of nginx's own: search on the directory that stops them
// (g+x or o+x, never read), or the directory itself when they must create
// files in it (chown to the worker user, as nginx does with the temp
// directories it makes; never world-writable).
func planFileAccess(e *Engine, o *checks.Outcome, c checks.Cause) []plan {
	b := c.Facts.Blocker
	if c.ID != checks.CauseNginxFileAccess || b == nil {
		return nil
	}
	w, ok := workerOf(o, c)
	if !ok {
		return nil
	}
	switch b.Need {
	case "search":
		p, ok := planDir(filesOf(o), c, w, b.Dir)
		if !ok {
			return nil
		}
		p.Title = fmt.Sprintf("Let nginx's workers (%s) enter %s, where nginx keeps %s (chmod %s)", w.Name, b.Dir, b.Path, p.modes[0].Bits)
		return []plan{p}
	case "write":
		st, err := filesOf(o).lstat(b.Dir)
		if err != nil || !st.Mode.IsDir() {
			return nil
		}
		owner := strconv.FormatUint(uint64(st.UID), 10)
		if u, err := user.LookupId(owner); err == nil {
			owner = u.Username
		}
		return []plan{{
			Fix: Fix{
				ID:    fixID(c.ID, c.Target, "chown"),
				Title: fmt.Sprintf("Give %s to nginx's workers (%s) so nginx can create its files there (chown %s)", b.Dir, w.Name, w.Name),
				Undo:  fmt.Sprintf("ngxdoctor undo gives %s back to %s", b.Dir, owner),
			},
			modes:      []modeChange{{Path: b.Dir, Kind: "dir", UID: int(w.UID), GID: -1, Mode: st.Mode.Perm(), Owner: w.Name}},
			revertible: true,
		}}
	}
	return nil
}
