package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// dns-failure: an upstream host name does not resolve, at start (a static
// pass) or at request time (a pass with variables).
var dnsFailureRule = Rule{
	ID:        CauseDNSFailure,
	Step:      2,
	LogProves: true,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network == "unix" || p.Status != probe.DNSError {
			return nil
		}
		return []Cause{s.liveCause(CauseDNSFailure, t, p, High, fmt.Sprintf("%s does not resolve (%s): nginx cannot start with it, and a running one keeps the old address only until a restart.", t.Host, p.Error))}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		switch e.Class {
		case logs.ResolveFailed, logs.ResolverError, logs.HostNotFound:
			return Creates
		}
		return NoMatch
	},
	Seen: "did not resolve",
	Unattached: func(s *Snapshot, e logs.Entry) (Cause, bool) {
		if (e.Class != logs.ResolveFailed && e.Class != logs.ResolverError) || !s.resolvedHere(e) {
			return Cause{}, false
		}
		c := Cause{ID: CauseDNSFailure, Target: e.Target, Confidence: High, Logged: true,
			Summary: fmt.Sprintf("nginx could not resolve %s at request time%s.", e.Target, resolveReason(e))}
		s.dynamicPassFacts(&c)
		return c, true
	},
}

// dynamicPassFacts points a request-time resolver cause at the first pass
// with variables.
func (s *Snapshot) dynamicPassFacts(c *Cause) {
	dynamic := s.dynamicTargets()
	if len(dynamic) == 0 {
		return
	}
	pass := s.Config.Passes[dynamic[0].Passes[0]]
	c.Facts.PassAt, c.Facts.LocationAt = pass.At.String(), pass.At.String()
	c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", pass.Directive, pass.Value, pass.At))
}
