package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// invalid-response: the backend speaks another protocol or sends a
// malformed header.
var invalidResponseRule = Rule{
	ID:   CauseInvalidResponse,
	Step: 5,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answered(t, p)
		if h == nil || h.Class != "invalid-header" {
			return nil
		}
		return []Cause{s.liveCause(CauseInvalidResponse, t, p, High, fmt.Sprintf("The backend at %s does not answer in %s (%s).", t.Address, protocolName(t), h.Error))}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.InvalidHeader || e.Class == logs.GRPC {
			return Creates
		}
		return NoMatch
	},
	Seen: "sent a response nginx could not read",
}
