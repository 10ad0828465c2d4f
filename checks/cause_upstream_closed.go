package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// upstream-closed: the backend closes the connection before a whole
// response (a crash, a killed worker).
var upstreamClosedRule = Rule{
	ID:   CauseUpstreamClosed,
	Step: 5,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answered(t, p)
		if h == nil || (h.Class != "closed" && h.Class != "broken-pipe") {
			return nil
		}
		return []Cause{s.liveCause(CauseUpstreamClosed, t, p, High, fmt.Sprintf("The backend at %s accepts, then closes the connection without an answer: it crashes or its worker is killed.", t.Address))}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.Closed || e.Class == logs.BrokenPipe {
			return Creates
		}
		return NoMatch
	},
	Seen: "closed connections before answering",
}
