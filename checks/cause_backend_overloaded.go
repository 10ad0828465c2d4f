package checks

import (
	"fmt"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// backend-overloaded: the backend accepts too slowly (a full listen queue,
// 11: Resource temporarily unavailable).
var backendOverloadedRule = Rule{
	ID:   CauseBackendOverloaded,
	Step: 7,
	// From the log it starts at medium; only php-fpm's own warning beside
	// nginx's lines raises it (enrichPool), and that must stand.
	LogProves: true,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if p.Status != probe.Timeout {
			return nil
		}
		if t.Network == "unix" {
			if s.socketBlocks(t) {
				return nil
			}
			return []Cause{s.liveCause(CauseBackendOverloaded, t, p, High, fmt.Sprintf("The backend on %s does not accept new connections: its listen queue is full.", t.Path))}
		}
		if _, ruled := s.firewallRule(t); ruled {
			return nil // firewall-blocked
		}
		l, ok := listenerFor(s.Listeners, t)
		if !ok {
			return nil
		}
		conf := Medium
		if l.Backlog > 0 && l.Queue >= l.Backlog {
			conf = High
		}
		queue := "it is slow to accept new connections"
		if l.Backlog > 0 {
			queue = fmt.Sprintf("%d connections wait in an accept queue of %d", l.Queue, l.Backlog)
		}
		return []Cause{s.liveCause(CauseBackendOverloaded, t, p, conf, fmt.Sprintf("%s at %s does not accept new connections in time: %s.", who(l), t.Address, queue), "listener: "+listenerLine(l))}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.Again || (e.Class == logs.Timeout && strings.HasPrefix(e.Phase, "connecting")) {
			return Creates
		}
		return NoMatch
	},
	Seen: "did not accept connections in time",
	// The php-fpm pool behind the target, found whether the probe or only
	// the log shows the cause.
	Relate: func(s *Snapshot, c *Cause, _ []*Cause) { s.enrichPool(c) },
}
