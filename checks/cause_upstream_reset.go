package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// upstream-reset: the backend resets the connection (104).
var upstreamResetRule = Rule{
	ID:   CauseUpstreamReset,
	Step: 5,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answered(t, p)
		if h == nil || h.Class != "reset" {
			return nil
		}
		return []Cause{s.liveCause(CauseUpstreamReset, t, p, High, fmt.Sprintf("The backend at %s resets the connection instead of answering.", t.Address))}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.Reset {
			return Creates
		}
		return NoMatch
	},
	Seen: "reset connections",
}
