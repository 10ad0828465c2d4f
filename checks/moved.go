package checks

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// Candidate is a listener where a target's backend may have moved: no
// config references it, its program is not a known unrelated service, and
// it was asked the target's own request.
type Candidate struct {
	Listener host.Listener `json:"listener"`
	Who      host.Identity `json:"who"`
	// Address is the listener in the target's form, ready for the pass line.
	Address string       `json:"address"`
	Probe   probe.Result `json:"probe"`
}

// Answers reports whether the candidate served the request: a valid
// response that is not an error. A 404 or a 5xx is some other program's
// answer, not the moved backend's.
func (c Candidate) Answers() bool {
	h := c.Probe.HTTP
	if c.Probe.Status != probe.Connected || h == nil || h.Class != "" {
		return false
	}
	return h.Status >= 200 && h.Status < 400
}

// maxCandidates bounds the listeners asked for one run.
const maxCandidates = 32

// movedTimeout bounds the candidates' probes: they are local listeners
// that accept at once, or not at all.
const movedTimeout = time.Second

// findMoved asks, for each target where nothing accepts, every listener
// that could be its backend elsewhere, with the target's request. It needs
// the probes and the listener table, so it runs after both.
func (s *Snapshot) findMoved(ctx context.Context) {
	var dead []nginx.Target
	for _, t := range s.Targets {
		p, ok := s.Probes[t.Address]
		if ok && !t.Dynamic && (p.Status == probe.Refused || p.Status == probe.NoSuchFile) && probeSpeaks(t) {
			dead = append(dead, t)
		}
	}
	if len(dead) == 0 || len(s.Listeners) == 0 {
		return
	}
	// A listener on a port or socket some target names is that target's
	// (the other address of the same port is alternative()'s business);
	// indexed once, so a thousand targets cost one pass.
	ports, paths := map[int]bool{}, map[string]bool{}
	for _, t := range s.Targets {
		ports[t.Port], paths[t.Path] = true, true
	}
	type pick struct {
		l   host.Listener
		who host.Identity
	}
	var picks []pick
	for _, l := range s.Listeners {
		if l.Network == "tcp" && ports[l.Port] || l.Network == "unix" && paths[l.Address] {
			continue
		}
		who := host.Identify(l, s.Processes)
		if who.Role == host.RoleService || notBackend(l) || isNginx(l) {
			continue
		}
		switch {
		case l.Network == "unix" && who.Role != host.RoleApp:
			continue // a host has dozens of unix sockets; only app servers' count
		case l.Network == "tcp" && !(isLoopback(l.IP) || l.IP == "0.0.0.0" || l.IP == "::"):
			continue // bound to another interface: not where a local backend went
		}
		picks = append(picks, pick{l, who})
	}
	// Known application servers first; the rest in port order.
	sort.SliceStable(picks, func(i, j int) bool {
		return picks[i].who.Role == host.RoleApp && picks[j].who.Role != host.RoleApp
	})

	asks := s.failingAsks()
	s.Moved = map[string][]Candidate{}
	var targets []nginx.Target
	var owners []Candidate
	ownerOf := map[string][]int{}
	keyAsks := map[string]probe.Ask{}
	for _, t := range dead {
		for _, p := range picks {
			if len(targets) >= maxCandidates {
				break
			}
			if (t.Network == "unix") != (p.l.Network == "unix") || !speaksFor(t, p.who) {
				continue
			}
			ct := candidateTarget(t, p.l)
			// One probe per (target, listener): the request is the target's.
			key := t.Address + " -> " + ct.Address
			ct.Address = key
			targets = append(targets, ct)
			ownerOf[t.Address] = append(ownerOf[t.Address], len(owners))
			owners = append(owners, Candidate{Listener: p.l, Who: p.who, Address: candidateAddress(t, p.l)})
			a := asks[t.Address]
			a.ReadTimeout = 0 // a candidate gets movedTimeout, not the pass's read timeout
			keyAsks[key] = a
		}
	}
	if len(targets) == 0 {
		return
	}
	results := probe.All(ctx, s.Sys, targets, keyAsks, min(movedTimeout, s.Options.timeout()), 0)
	for i, ct := range targets {
		owners[i].Probe = results[ct.Address]
	}
	for _, t := range dead {
		for _, i := range ownerOf[t.Address] {
			s.Moved[t.Address] = append(s.Moved[t.Address], owners[i])
		}
	}
}

// probeSpeaks: only targets whose protocol the probe speaks can be matched
// by an answer.
func probeSpeaks(t nginx.Target) bool {
	switch t.Kind {
	case "http", "https", "unix", "fastcgi":
		return true
	}
	return false
}

// speaksFor says whether a program may serve what nginx sends t.
func speaksFor(t nginx.Target, who host.Identity) bool {
	if who.Speaks == "" {
		return true
	}
	switch t.Kind {
	case "fastcgi":
		return who.Speaks == "fastcgi"
	case "uwsgi":
		return who.Speaks == "uwsgi"
	}
	return who.Speaks == "http"
}

// candidateTarget is t pointed at l, for the probe.
func candidateTarget(t nginx.Target, l host.Listener) nginx.Target {
	c := nginx.Target{Kind: t.Kind, Network: l.Network}
	if l.Network == "unix" {
		c.Path, c.Address = l.Address, "unix:"+l.Address
		return c
	}
	addr := candidateAddress(t, l)
	h, p, _ := net.SplitHostPort(addr)
	c.Host, c.Address = h, addr
	c.Port, _ = strconv.Atoi(p)
	return c
}

// candidateAddress writes l as the pass line would name it: a wildcard
// listener keeps the target's host when that is local.
func candidateAddress(t nginx.Target, l host.Listener) string {
	if l.Network == "unix" {
		return "unix:" + l.Address
	}
	ip := l.IP
	if ip == "0.0.0.0" || ip == "::" || ip == "" {
		ip = "127.0.0.1"
		if isLoopback(t.Host) || t.Host == "localhost" {
			ip = t.Host
		}
	}
	return net.JoinHostPort(ip, strconv.Itoa(l.Port))
}

// movedTo are the candidates that served t's request, best first: known
// application servers on any port (ephemeral ones too: a restarted service
// may have been given one), then other programs only on a fixed port
// within ten of t's, since an unknown program anywhere is as likely an
// unrelated one.
func (s *Snapshot) movedTo(t nginx.Target) []Candidate {
	var apps, near []Candidate
	for _, c := range s.Moved[t.Address] {
		if !c.Answers() {
			continue
		}
		switch {
		case c.Who.Role == host.RoleApp:
			apps = append(apps, c)
		case c.Listener.Network == "tcp" && c.Listener.Port < ephemeralPorts && t.Port > 0 && abs(c.Listener.Port-t.Port) <= 10:
			near = append(near, c)
		}
	}
	sort.SliceStable(near, func(i, j int) bool {
		return abs(near[i].Listener.Port-t.Port) < abs(near[j].Listener.Port-t.Port)
	})
	return append(apps, near...)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// candidateLine says who a candidate is and how it answered.
func candidateLine(c Candidate) string {
	who := c.Who.Name
	if who == "" {
		who = "a process"
	}
	if c.Listener.PID > 0 {
		who += fmt.Sprintf(" (pid %d)", c.Listener.PID)
	}
	kind := "no config references it"
	if c.Who.Role == host.RoleApp {
		kind = "an application server no config references"
	}
	line := fmt.Sprintf("%s at %s, %s", who, c.Address, kind)
	if h := c.Probe.HTTP; h != nil {
		line += fmt.Sprintf("; asked %s: %s %d", h.Request, h.Protocol, h.Status)
	}
	return line
}
