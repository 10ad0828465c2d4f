package checks

import (
	"fmt"
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
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
		if c, ok := s.refusedPeer(t, p); ok {
			return []Cause{c}
		}
		if p.Status != probe.Refused {
			return nil
		}
		alt, why, ok := s.alternative(t)
		if !ok {
			return nil
		}
		conf := altConfidence(why)
		ev := []string{"listener: " + listenerLine(alt)}
		moved := s.movedTo(t)
		if len(moved) > 0 && moved[0].Listener == alt {
			ev = append(ev, candidateLine(moved[0]))
			if moved[0].Who.Role != host.RoleApp {
				conf = Medium
			}
			if len(moved) > 1 {
				// Several answer: the first is a guess among them.
				conf = Low
				for _, m := range moved[1:] {
					ev = append(ev, "also answers: "+candidateLine(m))
				}
			}
		}
		c := s.liveCause(CauseWrongAddress, t, p, conf, fmt.Sprintf("Nothing accepts at %s, but %s listens at %s (%s): the config points at the wrong address.", t.Address, who(alt), alt.Address, why), ev...)
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

// refusedPeer: a name with several addresses, some refusing while one
// accepts. nginx makes each address a server and sends requests to each in
// turn, so the refusing ones fail requests even though the backend runs:
// the pass line should name the address that answers, or the backend
// listen on the others too.
func (s *Snapshot) refusedPeer(t nginx.Target, p probe.Result) (Cause, bool) {
	failed := p.Failed()
	if p.Status != probe.Connected || len(failed) == 0 {
		return Cause{}, false
	}
	var ok string
	for _, pe := range p.Peers {
		if pe.Status == probe.Connected {
			ok = pe.Address
			break
		}
	}
	var refused []string
	ev := []string{}
	for _, pe := range p.Peers {
		line := fmt.Sprintf("%s resolves to %s: %s", t.Host, pe.Address, pe.Status)
		if pe.Error != "" && pe.Status != probe.Connected {
			line += " (" + pe.Error + ")"
		}
		ev = append(ev, line)
		if pe.Status == probe.Refused {
			refused = append(refused, pe.Address)
		}
	}
	if len(refused) == 0 || ok == "" {
		return Cause{}, false // a timeout or an unreachable address is another cause
	}
	at := t.Address
	if len(t.ReferencedAt) > 0 {
		at = t.ReferencedAt[0].String()
	}
	summary := fmt.Sprintf("%s resolves to %d addresses and nginx sends requests to each: %s refuses while %s answers. "+
		"Write %s in the pass (%s), or make the backend listen on %s too.",
		t.Host, len(p.Peers), strings.Join(refused, ", "), ok, ok, at, strings.Join(refused, ", "))
	c := s.liveCause(CauseWrongAddress, t, p, High, summary, ev...)
	c.Facts.Alternative = ok
	return c, true
}
