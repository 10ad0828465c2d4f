package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// socket-missing: the unix socket path does not exist (and nothing likely
// listens beside it: that is wrong-address), or is not a socket.
var socketMissingRule = Rule{
	ID:         CauseSocketMissing,
	Step:       6,
	ProbeCures: true,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network != "unix" {
			return nil
		}
		so := s.Sockets[t.Path]
		switch {
		case !so.Exists && so.Err == "":
			if _, ok := s.alternativeSocket(t); ok {
				return nil
			}
			return []Cause{s.liveCause(CauseSocketMissing, t, p, High, fmt.Sprintf("The socket %s does not exist: its backend is not running or listens elsewhere.", t.Path))}
		case so.Exists && !so.IsSocket:
			return []Cause{s.liveCause(CauseSocketMissing, t, p, High, fmt.Sprintf("%s is a %s, not a socket: nothing can listen there.", t.Path, fileKind(so.Info)), fmt.Sprintf("path: %s %s:%s %04o", t.Path, so.Owner, so.Group, so.Info.Mode.Perm()))}
		}
		return nil
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.NoSuchFile {
			return Creates
		}
		return NoMatch
	},
	Seen: "had no socket file",
}
