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
		// Who listens is the evidence, with a connection that went through:
		// the probe asks no question of a uwsgi or FastCGI target.
		// A valid answer in nginx's own protocol, or a request through
		// nginx that worked, outweighs a guess from the listener's name.
		if m, ok := s.mismatch(t); ok && p.Status == probe.Connected && !s.socketBlocks(t) && !answersInKind(t, p) && !s.worksThrough(t) {
			at := t.Address
			if len(t.ReferencedAt) > 0 {
				at = t.ReferencedAt[len(t.ReferencedAt)-1].String()
			}
			ev := []string{"listener: " + listenerLine(m.Listener) + " (" + m.Who.Name + " speaks " + m.Speaks + ")"}
			if fpm, pool, ok := s.poolFor(t); ok {
				ev = append(ev, poolLine(fpm, pool))
			}
			c := s.liveCause(CauseInvalidResponse, t, p, High, m.summary(t, at), ev...)
			c.Facts.Speaks = m.Who.Speaks
			return []Cause{c}
		}
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
		if e.Class == logs.Reset || e.Class == logs.Closed || e.Class == logs.BrokenPipe {
			// What a server of another protocol does with nginx's request;
			// counted here when the listener says so (mismatch).
			return Joins
		}
		return NoMatch
	},
	Seen: "sent a response nginx could not read",
}

// answersInKind reports whether the probe read a valid answer in the
// protocol nginx speaks to t.
func answersInKind(t nginx.Target, p probe.Result) bool {
	h := p.HTTP
	return h != nil && h.Class == "" && h.Error == "" && h.Status > 0 && h.Protocol == sentProtocol(t)
}

// worksThrough reports whether a request through nginx worked on a
// location whose only backend is t.
func (s *Snapshot) worksThrough(t nginx.Target) bool {
	for _, r := range s.Replays {
		if !r.Works() {
			continue
		}
		if ts := s.passTargets(r.Pass); len(ts) == 1 && ts[0].Address == t.Address {
			return true
		}
	}
	return false
}
