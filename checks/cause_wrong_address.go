package checks

import (
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// wrong-address: nothing accepts at the target, but a likely backend
// listens elsewhere (another port, the other loopback family, a socket
// beside the configured one). Facts.Alternative is where.
var wrongAddressRule = Rule{
	ID:         CauseWrongAddress,
	Step:       1,
	ProbeCures: true,
	Live: func(s *Snapshot, t nginx.Target, p probe.Result) []Cause {
		if t.Network == "unix" {
			so := s.Sockets[t.Path]
			if so.Exists || so.Err != "" {
				return nil
			}
			alt, ok := s.alternativeSocket(t)
			if !ok {
				return nil
			}
			c := s.liveCause(CauseWrongAddress, t, p, Medium, fmt.Sprintf("%s does not exist, but %s listens at %s beside it: the config names the wrong socket.", t.Path, who(alt), alt.Address), "listener: "+listenerLine(alt))
			c.Facts.Alternative = "unix:" + alt.Address
			return []Cause{c}
		}
		if p.Status != probe.Refused {
			return nil
		}
		alt, why, ok := s.alternative(t)
		if !ok {
			return nil
		}
		c := s.liveCause(CauseWrongAddress, t, p, altConfidence(why), fmt.Sprintf("Nothing accepts at %s, but %s listens at %s (%s): the config points at the wrong address.", t.Address, who(alt), alt.Address, why), "listener: "+listenerLine(alt))
		c.Facts.Alternative = altAddress(t, alt)
		return []Cause{c}
	},
	Logged: func(e logs.Entry, t nginx.Target) Match {
		if e.Class == logs.Refused || e.Class == logs.NoSuchFile {
			return Joins
		}
		return NoMatch
	},
}
