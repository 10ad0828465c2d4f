package checks

import (
	"fmt"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// firewall-blocked: a rule rejects or drops traffic to the target (113,
// 101, a connect timeout), or nothing local explains an unreachable one.
var firewallBlockedRule = Rule{
	ID:   CauseFirewallBlocked,
	Step: 3,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network == "unix" {
			return nil
		}
		r, ruled := s.firewallRule(t)
		switch p.Status {
		case probe.Timeout:
			if ruled {
				return []Cause{s.liveCause(CauseFirewallBlocked, t, p, High, fmt.Sprintf("%s drops traffic to %s: connects time out.", ruleName(r), t.Address), "rule: "+r.Text)}
			}
			if _, ok := listenerFor(s.Listeners, t); ok {
				return nil // a listener that is slow to accept: backend-overloaded
			}
			return []Cause{s.liveCause(CauseFirewallBlocked, t, p, Low, fmt.Sprintf("Connecting to %s times out and no local rule explains it: a firewall on the way, or the host is down.", t.Address))}
		case probe.Unreachable:
			if ruled {
				return []Cause{s.liveCause(CauseFirewallBlocked, t, p, High, fmt.Sprintf("%s rejects traffic to %s (%s).", ruleName(r), t.Address, errnoText(p)), "rule: "+r.Text)}
			}
			return []Cause{s.liveCause(CauseFirewallBlocked, t, p, Medium, fmt.Sprintf("%s is unreachable (%s): a firewall or a missing route.", t.Address, errnoText(p)))}
		case probe.PermissionDenied:
			if s.selinuxEnforcing() || !ruled {
				return nil // selinux-denied
			}
			return []Cause{s.liveCause(CauseFirewallBlocked, t, p, High, fmt.Sprintf("A firewall rule refuses traffic to %s.", t.Address), "rule: "+r.Text)}
		}
		return nil
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		switch {
		case e.Class == logs.NoRoute, e.Class == logs.NetUnreachable:
			return Creates
		case e.Class == logs.PermissionDenied && t.Network != "unix":
			return Joins
		case e.Class == logs.Timeout && strings.HasPrefix(e.Phase, "connecting"):
			return Joins
		}
		return NoMatch
	},
	Seen: "was unreachable",
}
