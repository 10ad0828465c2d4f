package checks

import (
	"strings"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
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

// failingAsks is probeAsks with, for each target, the newest GET or HEAD
// of the window that failed there (the error log names it): its path, and
// its Host when the pass sends the client's Host on. It needs the logs.
func (s *Snapshot) failingAsks() map[string]probe.Ask {
	asks := s.probeAsks()
	counts := s.countsByTarget()
	for _, t := range s.Targets {
		var newest logs.Entry
		for _, n := range counts[t.Address] {
			for _, e := range n.Examples {
				if f := strings.Fields(e.Request); len(f) >= 2 && (f[0] == "GET" || f[0] == "HEAD") && !e.Time.Before(newest.Time) {
					newest = e
				}
			}
		}
		f := strings.Fields(newest.Request)
		if len(f) < 2 {
			continue
		}
		a := asks[t.Address]
		a.Method, a.Path = f[0], f[1]
		if newest.Host != "" && s.sendsClientHost(t) {
			a.Host = newest.Host
		}
		asks[t.Address] = a
	}
	return asks
}

// sendsClientHost: a pass to t sets the Host header to the client's
// ($host or $http_host) instead of nginx's default $proxy_host.
func (s *Snapshot) sendsClientHost(t nginx.Target) bool {
	for _, pi := range t.Passes {
		if pi < 0 || pi >= len(s.Config.Passes) {
			continue
		}
		for _, d := range s.Config.Passes[pi].Settings["proxy_set_header"] {
			if len(d.Args) == 2 && strings.EqualFold(d.Args[0], "Host") && (d.Args[1] == "$host" || d.Args[1] == "$http_host") {
				return true
			}
		}
	}
	return false
}
