package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// selinux-denied: SELinux stops nginx connecting (a TCP 13: Permission
// denied while enforcing). Facts.Port is the port to allow.
var selinuxDeniedRule = Rule{
	ID:   CauseSELinuxDenied,
	Step: 3,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network == "unix" || p.Status != probe.PermissionDenied {
			return nil
		}
		se := s.SELinux
		var c Cause
		switch {
		case s.selinuxEnforcing():
			ev := []string{"SELinux: enforcing, httpd_can_network_connect=" + onOff(se.NetworkConnect)}
			ev = append(ev, firstN(se.Denials, 2)...)
			c = s.liveCause(CauseSELinuxDenied, t, p, High, fmt.Sprintf("SELinux stops nginx connecting to %s (httpd_can_network_connect is %s).", t.Address, onOff(se.NetworkConnect)), ev...)
		default:
			if _, ruled := s.firewallRule(t); ruled {
				return nil // firewall-blocked
			}
			c = s.liveCause(CauseSELinuxDenied, t, p, Low, fmt.Sprintf("Connecting to %s is denied (13) and SELinux state could not be read: %s.", t.Address, se.Note))
		}
		c.Facts.Port = t.Port
		return []Cause{c}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.PermissionDenied && t.Network != "unix" {
			return Creates
		}
		return NoMatch
	},
	Seen: "was denied to nginx (13: Permission denied)",
}

func (s *Snapshot) selinuxEnforcing() bool {
	return s.SELinux.Available && s.SELinux.Mode == "enforcing"
}
