package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// backend-down: nothing accepts at the target and no likely backend
// listens elsewhere (that is wrong-address).
var backendDownRule = Rule{
	ID:         CauseBackendDown,
	Step:       1,
	ProbeCures: true,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if p.Status != probe.Refused {
			return nil
		}
		if t.Network == "unix" {
			if s.socketBlocks(t) {
				return nil
			}
			return []Cause{s.liveCause(CauseBackendDown, t, p, High, fmt.Sprintf("The socket %s exists but nothing accepts on it: a stale socket left by a backend that stopped.", t.Path))}
		}
		if _, _, ok := s.alternative(t); ok {
			return nil
		}
		summary := fmt.Sprintf("Nothing listens at %s: the backend is down or was never started.", t.Address)
		if u, ok := s.Units[t.Address]; ok && u.Active != "active" {
			summary = fmt.Sprintf("Nothing listens at %s; its service %s is %s.", t.Address, u.Name, u.Active)
		}
		return []Cause{s.liveCause(CauseBackendDown, t, p, High, summary, s.listenersOnPort(t.Port)...)}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.Refused {
			return Creates
		}
		return NoMatch
	},
	Seen: "refused connections",
}
