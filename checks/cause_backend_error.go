package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// backend-error: the backend itself answers 5xx (502/503/504 most often);
// nginx passes it on and logs nothing. Users see the same 502 as for a
// proxy failure: the verdict says whose it is.
var backendErrorRule = Rule{
	ID:   CauseBackendError,
	Step: 5,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		h := s.answered(t, p)
		if h == nil || (h.Status != 502 && h.Status != 503 && h.Status != 504) {
			return nil
		}
		return []Cause{s.backendError(t, h.Status, fmt.Sprintf("The backend at %s answers %d itself (nginx passes it on as it is and logs nothing): the application's own log says why.", t.Address, h.Status),
			s.liveCause(CauseBackendError, t, p, High, "").Evidence...)}
	},
	Request: func(s *Snapshot, r Replay) (Cause, bool) {
		if r.Error != "" || len(r.Lines) > 0 {
			return Cause{}, false
		}
		for _, t := range s.passTargets(r.Pass) {
			if st, ok := r.Direct[t.Address]; ok && st == r.Status {
				return s.backendError(t, st, fmt.Sprintf("The backend at %s answers %d itself to %s %s (nginx passes it on as it is and logs nothing): the application's own log says why.", t.Address, st, r.Method, r.Path),
					fmt.Sprintf("asked directly: %s %s → %d", r.Method, r.Path, st)), true
			}
		}
		return Cause{}, false
	},
}

// backendError is the cause with the backend's unit and log where known.
func (s *Snapshot) backendError(t nginx.Target, status int, summary string, ev ...string) Cause {
	c := Cause{ID: CauseBackendError, Target: t.Address, Live: true, Confidence: High, Summary: summary, Evidence: ev, Facts: s.baseFacts(t)}
	if u, ok := s.Units[t.Address]; ok {
		c.Evidence = append(c.Evidence, fmt.Sprintf("its service: %s (%s); its log: journalctl -u %s", u.Name, u.Active, u.Name))
	} else if l, ok := listenerFor(s.Listeners, t); ok {
		c.Evidence = append(c.Evidence, "listener: "+listenerLine(l))
	}
	return c
}
