package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// socket-permission: the worker user may not connect to the unix socket:
// its owner/mode, or a directory on its path (Facts.BlockedDir).
var socketPermissionRule = Rule{
	ID:   CauseSocketPermission,
	Step: 6,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network != "unix" {
			return nil
		}
		so := s.Sockets[t.Path]
		if !so.Exists || !so.IsSocket || so.WorkerMay {
			return nil
		}
		c := s.liveCause(CauseSocketPermission, t, p, High, fmt.Sprintf("nginx workers run as %s and may not connect to %s: %s.", s.WorkerUser.Name, t.Path, so.Reason),
			fmt.Sprintf("access for %s: denied (%s)", s.WorkerUser.Name, so.Reason))
		c.Facts.BlockedDir = so.BlockedDir
		return []Cause{c}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.PermissionDenied && t.Network == "unix" {
			return Creates
		}
		return NoMatch
	},
	Seen: "denied nginx's workers the socket",
}
