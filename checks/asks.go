package checks

import (
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// probeAsks says what the probe asks each target once connected: the Host
// nginx sends by default and the longest read timeout of the passes that
// lead there, so that a slow answer is measured against what nginx waits.
func (s *Snapshot) probeAsks() map[string]probe.Ask {
	hosts := hostHeaders(s.Targets)
	asks := make(map[string]probe.Ask, len(s.Targets))
	for _, t := range s.Targets {
		a := asks[t.Address]
		a.Host = hosts[t.Address]
		for _, pi := range t.Passes {
			if pi < 0 || pi >= len(s.Config.Passes) {
				continue
			}
			_, limit, _ := readTimeout(s.Config.Passes[pi])
			a.ReadTimeout = max(a.ReadTimeout, limit)
		}
		asks[t.Address] = a
	}
	return asks
}
