package nginx

import (
	"net"
	"strconv"
	"strings"
)

// Targets returns one Target per distinct (kind, address) that some pass
// leads to, in config order: the servers of each upstream a pass names,
// every direct address, and passes whose host comes from variables
// (Dynamic). Upstreams no pass names are left out: nothing is sent there.
func (c *Config) Targets() []Target {
	var out []Target
	// Every target, reference and pass is indexed once: a backend that
	// thousands of locations pass to must not cost a scan of its list
	// per location (that made a big config quadratic), and an upstream's
	// servers become targets once per kind of pass, not once per pass.
	index := map[string]int{}
	type ref struct {
		target int
		at     Pos
	}
	refs := map[ref]bool{}
	// shared are the lines more than one pass or server line is at (a
	// snippet included twice, a one-line config): only references to
	// those need the map to be listed once.
	shared := map[Pos]bool{}
	{
		seen := make(map[Pos]bool, len(c.Passes))
		note := func(at Pos) {
			if seen[at] {
				shared[at] = true
			}
			seen[at] = true
		}
		for _, u := range c.Upstreams {
			for _, sv := range u.Servers {
				note(sv.At)
			}
		}
		for _, p := range c.Passes {
			note(p.At)
		}
	}
	target := func(t Target) int {
		key := t.Kind + " " + t.Address
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, t)
		}
		return i
	}
	refer := func(i int, at Pos, once bool) {
		if once {
			out[i].ReferencedAt = append(out[i].ReferencedAt, at)
			return
		}
		if r := (ref{i, at}); !refs[r] {
			refs[r] = true
			out[i].ReferencedAt = append(out[i].ReferencedAt, at)
		}
	}
	use := func(i, pass int, at Pos, once bool) {
		// Passes come in order, so a pass already listed is the last one
		// (an upstream may list one address twice), its line with it.
		if ps := out[i].Passes; len(ps) > 0 && ps[len(ps)-1] == pass {
			return
		}
		out[i].Passes = append(out[i].Passes, pass)
		refer(i, at, once)
	}
	groups := make(map[string]*Upstream, len(c.Upstreams))
	for i := len(c.Upstreams) - 1; i >= 0; i-- {
		groups[strings.ToLower(c.Upstreams[i].Name)] = &c.Upstreams[i]
	}
	type groupKind struct {
		u              *Upstream
		module, scheme string
	}
	servers := map[groupKind][]int{}
	for pi, p := range c.Passes {
		switch {
		case p.Upstream != "":
			u := groups[strings.ToLower(p.Upstream)]
			if u == nil {
				continue
			}
			k := groupKind{u, p.Module, p.Scheme}
			ts, ok := servers[k]
			if !ok {
				for si := range u.Servers {
					s := u.Servers[si]
					t := endpoint(p, s.Address, 80)
					t.Upstream = u.Name
					t.Server = &s
					i := target(t)
					refer(i, s.At, false)
					ts = append(ts, i)
				}
				servers[k] = ts
			}
			once := !shared[p.At]
			for _, i := range ts {
				use(i, pi, p.At, once)
			}
		case p.Address != "":
			use(target(endpoint(p, p.Address, 0)), pi, p.At, !shared[p.At])
		case p.Variables:
			use(target(Target{
				Kind:    kind(p, strings.Contains(p.Value, "unix:")),
				Network: network(strings.Contains(p.Value, "unix:")),
				Address: p.Value,
				Dynamic: true,
			}), pi, p.At, !shared[p.At])
		}
	}
	return out
}

// PassesFor returns the passes that lead to t.
func (c *Config) PassesFor(t Target) []Pass {
	out := make([]Pass, 0, len(t.Passes))
	for _, i := range t.Passes {
		if i >= 0 && i < len(c.Passes) {
			out = append(out, c.Passes[i])
		}
	}
	return out
}

// endpoint makes the Target for an address as written; defPort applies
// when none is written (80 for upstream server lines, whatever the scheme).
func endpoint(p Pass, addr string, defPort int) Target {
	if strings.HasPrefix(strings.ToLower(addr), "unix:") {
		path := addr[len("unix:"):]
		return Target{Kind: kind(p, true), Network: "unix", Address: "unix:" + path, Path: path}
	}
	t := Target{Kind: kind(p, false), Network: "tcp", Address: addr}
	host, port, ok := splitHostPort(addr)
	if !ok {
		return t
	}
	t.Host = host
	if port == "" && defPort != 0 {
		port = strconv.Itoa(defPort)
	}
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		t.Port = n
		t.Address = net.JoinHostPort(host, port)
	}
	return t
}

// kind names what nginx speaks to a target, as model.go's Target.Kind lists.
func kind(p Pass, unix bool) string {
	switch p.Module {
	case "proxy":
		if p.Scheme == "https" {
			return "https"
		}
		if unix {
			return "unix"
		}
		return "http"
	case "grpc":
		return "grpc"
	}
	return p.Module
}

func network(unix bool) string {
	if unix {
		return "unix"
	}
	return "tcp"
}
