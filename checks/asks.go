package checks

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// probeAsks says what the probe asks each target once connected: the Host
// nginx sends by default and the longest read timeout of the passes that
// lead there, so that a slow answer is measured against what nginx waits.
func (s *Snapshot) probeAsks() map[string]probe.Ask {
	if s.asks != nil {
		return maps.Clone(s.asks)
	}
	return s.workOutAsks()
}

// workOutAsks is probeAsks from the config: a walk of every target's passes.
func (s *Snapshot) workOutAsks() map[string]probe.Ask {
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
	// The replayed requests that failed through nginx first: they are
	// what users meet now.
	for _, r := range s.Replays {
		if !r.Failed() || (r.Method != "GET" && r.Method != "HEAD") {
			continue
		}
		for _, t := range s.passTargets(r.Pass) {
			a := asks[t.Address]
			if a.Path != "" {
				continue
			}
			a.Method, a.Path = r.Method, r.Path
			if r.Host != "" && s.sendsClientHost(t) {
				a.Host = r.Host
			}
			asks[t.Address] = a
		}
	}
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
		a := asks[t.Address]
		if len(f) < 2 || a.Path != "" {
			continue
		}
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

// askFailing asks again, with the failing request, each target that
// answered the first probe's nginx-default GET / quickly: its answer to
// what users ask is the one the diagnosis judges (a 5xx, a big header or a
// slow page may be on that path only). A slow first answer is kept: asking
// again would cost another wait.
func (s *Snapshot) askFailing(ctx context.Context) {
	asks, plain := s.failingAsks(), s.probeAsks()
	seen := map[string]bool{}
	var jobs []nginx.Target
	for _, t := range s.Targets {
		a, p := asks[t.Address], s.Probes[t.Address]
		h := p.HTTP
		if seen[t.Address] || a == plain[t.Address] || a.Path == "" || p.Status != probe.Connected || h == nil || h.Class != "" || h.TTFB > time.Second {
			continue
		}
		seen[t.Address] = true
		jobs = append(jobs, t)
	}
	answers := make([]*probe.HTTP, len(jobs))
	slots := make(chan struct{}, probe.DefaultWorkers) // open files stay bounded
	var wg sync.WaitGroup
	for i, t := range jobs {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			answers[i] = probe.Request(ctx, s.Sys, t, asks[t.Address], s.Options.timeout())
		})
	}
	wg.Wait()
	for i, t := range jobs {
		if answers[i] != nil {
			p := s.Probes[t.Address]
			p.HTTP = answers[i]
			s.Probes[t.Address] = p
		}
	}
}
