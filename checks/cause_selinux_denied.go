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
	// Only where SELinux is present and enforcing: a 13 on a host without
	// it is not SELinux's, whatever the log says.
	Applies: func(s *Snapshot) bool { return s.selinuxEnforcing() },
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network == "unix" || p.Status != probe.PermissionDenied {
			return nil
		}
		se := s.SELinux
		ev := []string{"SELinux: enforcing, httpd_can_network_connect=" + onOff(se.NetworkConnect)}
		ev = append(ev, firstN(se.Denials, 2)...)
		c := s.liveCause(CauseSELinuxDenied, t, p, High, fmt.Sprintf("SELinux stops nginx connecting to %s (httpd_can_network_connect is %s).", t.Address, onOff(se.NetworkConnect)), ev...)
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
