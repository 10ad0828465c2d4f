package checks

import (
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// ephemeralPorts is where Linux's default local port range starts.
const ephemeralPorts = 32768

// maxEvidenceLines caps the log lines quoted per cause; the count is kept.
const maxEvidenceLines = 3

// Diagnose turns the snapshot into ranked causes. It reads the snapshot
// only: every fact it needs was collected before.
func Diagnose(s *Snapshot) []Cause {
	d := &diagnosis{s: s, byKey: map[string]*Cause{}}
	d.nginxItself()
	entries := s.entriesByTarget()
	for _, t := range s.Targets {
		if t.Dynamic {
			continue
		}
		d.live(t)
		for _, e := range entries[t.Address] {
			d.logged(t, e)
		}
	}
	d.unattributed(entries)
	d.serviceHistory()
	return d.ranked()
}

// serviceHistory adds what systemd and the kernel remember of a backend
// whose service restarted, failed or was killed for memory: the usual
// reason a 502 comes and goes.
func (d *diagnosis) serviceHistory() {
	for _, c := range d.order {
		u, ok := d.s.Units[c.Target]
		if !ok || (u.Restarts == 0 && len(u.OOMKills) == 0 && u.Active == "active") {
			continue
		}
		line := fmt.Sprintf("systemd: %s is %s", u.Name, u.Active)
		if u.Restarts > 0 {
			line += fmt.Sprintf(", restarted %d times", u.Restarts)
		}
		c.Evidence = append(c.Evidence, line)
		for _, k := range firstN(u.OOMKills, 2) {
			c.Evidence = append(c.Evidence, "kernel: "+k)
		}
	}
}

type diagnosis struct {
	s     *Snapshot
	byKey map[string]*Cause
	order []*Cause
}

func (d *diagnosis) get(id, target string) (*Cause, bool) {
	c, ok := d.byKey[id+"\x00"+target]
	return c, ok
}

// add records a cause, or merges into the one already found for the same
// id and target.
func (d *diagnosis) add(c Cause) *Cause {
	if old, ok := d.get(c.ID, c.Target); ok {
		old.Live = old.Live || c.Live
		old.Evidence = append(old.Evidence, c.Evidence...)
		for k, v := range c.Facts {
			if old.Facts[k] == "" {
				old.Facts[k] = v
			}
		}
		return old
	}
	if c.Facts == nil {
		c.Facts = map[string]string{}
	}
	p := &c
	d.byKey[c.ID+"\x00"+c.Target] = p
	d.order = append(d.order, p)
	return p
}

func (d *diagnosis) nginxItself() {
	s := d.s
	if !s.Install.Running {
		d.add(Cause{ID: "nginx-not-running", Target: "nginx", Live: true, Confidence: High,
			Summary:  fmt.Sprintf("No nginx master process is running for %s: clients get no answer at all, not a 502.", s.Install.Config),
			Evidence: []string{"process table: no \"nginx: master process\""}})
	}
	if s.ConfigTest.Ran && !s.ConfigTest.OK && s.ConfigTest.Inconclusive == "" {
		first := firstLine(s.ConfigTest.Output, "[emerg]")
		d.add(Cause{ID: "config-invalid", Target: s.Install.Config, Live: true, Confidence: High,
			Summary:  "nginx -t fails, so a reload would fail and the config on disk is not what runs: " + first,
			Evidence: splitLines(s.ConfigTest.Output, 6)})
	}
}

// live states what the probes, the listener table, the socket's path and
// the host's rules say of a target now.
func (d *diagnosis) live(t nginx.Target) {
	s := d.s
	p, probed := s.Probes[t.Address]
	if !probed {
		return
	}
	base := func(id string, conf Confidence, summary string, ev ...string) Cause {
		c := Cause{ID: id, Target: t.Address, Live: true, Confidence: conf, Summary: summary,
			Evidence: append([]string{probeLine(t, p)}, ev...), Facts: d.facts(t)}
		return c
	}
	if t.Network == "unix" {
		d.liveUnix(t, p, base)
		return
	}
	switch p.Status {
	case probe.DNSError:
		d.add(base("dns-failure", High, fmt.Sprintf("%s does not resolve (%s): nginx cannot start with it, and a running one keeps the old address only until a restart.", t.Host, p.Error)))
	case probe.Refused:
		if alt, why, ok := s.alternative(t); ok {
			c := base("wrong-address", altConfidence(why), fmt.Sprintf("Nothing accepts at %s, but %s listens at %s (%s): the config points at the wrong address.", t.Address, who(alt), alt.Address, why), "listener: "+listenerLine(alt))
			c.Facts["alternative"] = altAddress(t, alt)
			d.add(c)
			return
		}
		summary := fmt.Sprintf("Nothing listens at %s: the backend is down or was never started.", t.Address)
		if u, ok := s.Units[t.Address]; ok && u.Active != "active" {
			summary = fmt.Sprintf("Nothing listens at %s; its service %s is %s.", t.Address, u.Name, u.Active)
		}
		d.add(base("backend-down", High, summary, s.listenersOnPort(t.Port)...))
	case probe.Timeout:
		if r, ok := s.firewallRule(t); ok {
			c := base("firewall-blocked", High, fmt.Sprintf("%s drops traffic to %s: connects time out.", ruleName(r), t.Address), "rule: "+r.Text)
			d.add(c)
			return
		}
		if l, ok := listenerFor(s.Listeners, t); ok {
			conf := Medium
			if l.Backlog > 0 && l.Queue >= l.Backlog {
				conf = High
			}
			queue := "it is slow to accept new connections"
			if l.Backlog > 0 {
				queue = fmt.Sprintf("%d connections wait in an accept queue of %d", l.Queue, l.Backlog)
			}
			d.add(base("backend-overloaded", conf, fmt.Sprintf("%s at %s does not accept new connections in time: %s.", who(l), t.Address, queue), "listener: "+listenerLine(l)))
			return
		}
		d.add(base("firewall-blocked", Low, fmt.Sprintf("Connecting to %s times out and no local rule explains it: a firewall on the way, or the host is down.", t.Address)))
	case probe.Unreachable:
		if r, ok := s.firewallRule(t); ok {
			d.add(base("firewall-blocked", High, fmt.Sprintf("%s rejects traffic to %s (%s).", ruleName(r), t.Address, errnoText(p)), "rule: "+r.Text))
			return
		}
		d.add(base("firewall-blocked", Medium, fmt.Sprintf("%s is unreachable (%s): a firewall or a missing route.", t.Address, errnoText(p))))
	case probe.PermissionDenied:
		d.selinuxOrFirewall(t, base)
	case probe.Connected:
		d.liveHTTP(t, p, base)
	}
}

func (d *diagnosis) liveUnix(t nginx.Target, p probe.Result, base func(string, Confidence, string, ...string) Cause) {
	s := d.s
	so := s.Sockets[t.Path]
	switch {
	case !so.Exists && so.Err == "":
		if alt, ok := s.alternativeSocket(t); ok {
			c := base("wrong-address", Medium, fmt.Sprintf("%s does not exist, but %s listens at %s beside it: the config names the wrong socket.", t.Path, who(alt), alt.Address), "listener: "+listenerLine(alt))
			c.Facts["alternative"] = "unix:" + alt.Address
			d.add(c)
			return
		}
		d.add(base("socket-missing", High, fmt.Sprintf("The socket %s does not exist: its backend is not running or listens elsewhere.", t.Path)))
	case so.Exists && !so.IsSocket:
		d.add(base("socket-missing", High, fmt.Sprintf("%s is a %s, not a socket: nothing can listen there.", t.Path, fileKind(so.Info)), fmt.Sprintf("path: %s %s:%s %04o", t.Path, so.Owner, so.Group, so.Info.Mode.Perm())))
	case so.Exists && !so.WorkerMay:
		c := base("socket-permission", High, fmt.Sprintf("nginx workers run as %s and may not connect to %s: %s.", s.WorkerUser.Name, t.Path, so.Reason),
			fmt.Sprintf("access for %s: denied (%s)", s.WorkerUser.Name, so.Reason))
		if so.BlockedDir != "" {
			c.Facts["blocked_dir"] = so.BlockedDir
		}
		d.add(c)
	case p.Status == probe.Refused:
		d.add(base("backend-down", High, fmt.Sprintf("The socket %s exists but nothing accepts on it: a stale socket left by a backend that stopped.", t.Path)))
	case p.Status == probe.Timeout:
		d.add(base("backend-overloaded", High, fmt.Sprintf("The backend on %s does not accept new connections: its listen queue is full.", t.Path)))
	case p.Status == probe.Connected:
		d.liveHTTP(t, p, base)
	}
}

// liveHTTP judges the answer of a backend that accepted a connection.
func (d *diagnosis) liveHTTP(t nginx.Target, p probe.Result, base func(string, Confidence, string, ...string) Cause) {
	h := p.HTTP
	if h == nil {
		return
	}
	if h.Speaks == "tls" && t.Kind != "https" {
		d.add(base("tls-handshake", High, fmt.Sprintf("The backend at %s speaks TLS, but nginx talks plain %s to it: the pass needs https://.", t.Address, protocolName(t))))
		return
	}
	switch h.Class {
	case "closed", "broken-pipe":
		d.add(base("upstream-closed", High, fmt.Sprintf("The backend at %s accepts, then closes the connection without an answer: it crashes or its worker is killed.", t.Address)))
	case "reset":
		d.add(base("upstream-reset", High, fmt.Sprintf("The backend at %s resets the connection instead of answering.", t.Address)))
	case "invalid-header":
		d.add(base("invalid-response", High, fmt.Sprintf("The backend at %s does not answer in %s (%s).", t.Address, protocolName(t), h.Error)))
	case "tls":
		d.add(base("tls-handshake", High, fmt.Sprintf("TLS to %s fails: %s.", t.Address, h.Error)))
	case "header-too-big":
		d.add(base("header-too-big", High, fmt.Sprintf("The backend at %s sends a response header over 1 MiB: no buffer setting fixes that; the backend must send less.", t.Address)))
	}
	for _, pi := range t.Passes {
		pass := d.s.Config.Passes[pi]
		if h.HeaderBytes > 0 {
			name, size, at := bufferSize(pass)
			if size > 0 && int64(h.HeaderBytes) > size {
				c := base("header-too-big", High, fmt.Sprintf("The backend at %s sends a %d-byte response header; %s is %s, so nginx refuses it.", t.Address, h.HeaderBytes, name, humanSize(size)),
					fmt.Sprintf("%s %s (%s)", name, humanSize(size), atOrDefault(at)))
				c.Facts["setting"], c.Facts["setting_at"], c.Facts["measured"] = name, at, strconv.Itoa(h.HeaderBytes)
				c.Facts["location_at"] = pass.At.String()
				d.add(c)
			}
		}
		name, limit, at := readTimeout(pass)
		// The probe waited at least the read timeout (probe.Ask), up to a
		// cap: only a wait that long proves nginx would give up too.
		slow := h.Class == "timeout" && h.Waited >= limit
		if (h.TTFB > 0 && limit > 0 && h.TTFB > limit) || (slow && limit > 0) {
			measured := h.TTFB
			if slow {
				measured = h.Waited
			}
			c := base("upstream-timeout", High, fmt.Sprintf("The backend at %s takes over %s to answer; %s is %s.", t.Address, measured.Round(time.Millisecond), name, limit),
				fmt.Sprintf("%s %s (%s)", name, limit, atOrDefault(at)))
			c.Facts["setting"], c.Facts["setting_at"], c.Facts["measured"] = name, at, measured.String()
			c.Facts["location_at"] = pass.At.String()
			d.add(c)
		}
	}
}

// selinuxOrFirewall explains a TCP "13: Permission denied": SELinux when
// it enforces, else a rule.
func (d *diagnosis) selinuxOrFirewall(t nginx.Target, base func(string, Confidence, string, ...string) Cause) *Cause {
	se := d.s.SELinux
	if se.Available && se.Mode == "enforcing" {
		ev := []string{"SELinux: enforcing, httpd_can_network_connect=" + onOff(se.NetworkConnect)}
		ev = append(ev, firstN(se.Denials, 2)...)
		c := base("selinux-denied", High, fmt.Sprintf("SELinux stops nginx connecting to %s (httpd_can_network_connect is %s).", t.Address, onOff(se.NetworkConnect)), ev...)
		c.Facts["port"] = strconv.Itoa(t.Port)
		return d.add(c)
	}
	if r, ok := d.s.firewallRule(t); ok {
		return d.add(base("firewall-blocked", High, fmt.Sprintf("A firewall rule refuses traffic to %s.", t.Address), "rule: "+r.Text))
	}
	c := base("selinux-denied", Low, fmt.Sprintf("Connecting to %s is denied (13) and SELinux state could not be read: %s.", t.Address, se.Note))
	c.Facts["port"] = strconv.Itoa(t.Port)
	return d.add(c)
}

// logged merges one error-log line into the cause it shows for target t.
func (d *diagnosis) logged(t nginx.Target, e logs.Entry) {
	ids := classCauses(e, t)
	if len(ids) == 0 {
		return
	}
	var c *Cause
	for _, id := range ids {
		if old, ok := d.get(id, t.Address); ok {
			c = old
			break
		}
	}
	if c == nil {
		id := ids[len(ids)-1]
		c = d.add(Cause{ID: id, Target: t.Address, Confidence: Medium, Summary: loggedSummary(id, t, e), Facts: d.facts(t)})
		d.loggedFacts(c, t, e)
	}
	c.Logged = true
	c.Occurrences++
	if c.Occurrences <= maxEvidenceLines {
		c.Evidence = append(c.Evidence, "error.log: "+e.Raw)
	}
}

// loggedFacts fills what a fix needs when only the log shows the cause.
func (d *diagnosis) loggedFacts(c *Cause, t nginx.Target, e logs.Entry) {
	if len(t.Passes) == 0 {
		return
	}
	pass := d.s.Config.Passes[t.Passes[0]]
	switch c.ID {
	case "upstream-timeout":
		name, limit, at := readTimeout(pass)
		c.Facts["setting"], c.Facts["setting_at"], c.Facts["location_at"] = name, at, pass.At.String()
		c.Facts["measured"] = limit.String()
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", name, limit, atOrDefault(at)))
	case "header-too-big":
		name, size, at := bufferSize(pass)
		c.Facts["setting"], c.Facts["setting_at"], c.Facts["location_at"] = name, at, pass.At.String()
		c.Facts["measured"] = strconv.FormatInt(size, 10)
		c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", name, humanSize(size), atOrDefault(at)))
	}
}

// unattributed handles log lines about no static target: upstream groups
// with no live servers, names nginx could not resolve, and nginx's own
// limits.
func (d *diagnosis) unattributed(entries map[string][]logs.Entry) {
	s := d.s
	groups := map[string]bool{}
	for _, t := range s.Targets {
		if t.Upstream != "" {
			groups[t.Upstream] = true
		}
	}
	var dynamic []nginx.Target
	for _, t := range s.Targets {
		if t.Dynamic {
			dynamic = append(dynamic, t)
		}
	}
	keys := make([]string, 0, len(entries))
	for k := range entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, e := range entries[k] {
			switch e.Class {
			case logs.NoLiveUpstreams:
				if !groups[e.Target] && e.Target != "" {
					continue
				}
				c := d.add(Cause{ID: "no-live-upstreams", Target: "upstream " + e.Target, Confidence: Medium, Logged: true,
					Summary: fmt.Sprintf("Every server of upstream %s is marked failed, so nginx does not even try them: the cause is what failed them.", e.Target),
					Facts:   map[string]string{}})
				d.countLine(c, e)
			case logs.NoResolver, logs.ResolveFailed, logs.ResolverError:
				if !d.isDynamicOrHost(e, dynamic) {
					continue
				}
				id := "dns-failure"
				summary := fmt.Sprintf("nginx could not resolve %s at request time%s.", e.Target, resolveReason(e))
				if e.Class == logs.NoResolver {
					id = "no-resolver"
					summary = fmt.Sprintf("A *_pass with variables needs a resolver to look up %s at request time, and none is set.", e.Target)
				}
				c := d.add(Cause{ID: id, Target: e.Target, Confidence: High, Logged: true, Summary: summary, Facts: map[string]string{}})
				if len(dynamic) > 0 && c.Facts["pass_at"] == "" {
					pass := s.Config.Passes[dynamic[0].Passes[0]]
					c.Facts["pass_at"], c.Facts["location_at"] = pass.At.String(), pass.At.String()
					c.Evidence = append(c.Evidence, fmt.Sprintf("%s %s (%s)", pass.Directive, pass.Value, pass.At))
				}
				d.countLine(c, e)
			case logs.TooManyFiles, logs.WorkerConns, logs.AddrNotAvail:
				c := d.add(Cause{ID: "nginx-resources", Target: "nginx", Confidence: High, Logged: true,
					Summary: "nginx itself runs out of " + resourceName(e.Class) + ".", Facts: map[string]string{}})
				d.countLine(c, e)
			}
		}
	}
	// A group's failure follows from its servers' causes.
	for _, c := range d.order {
		if c.ID != "no-live-upstreams" {
			continue
		}
		group := strings.TrimPrefix(c.Target, "upstream ")
		for _, other := range d.order {
			if other.ID != "no-live-upstreams" && targetInGroup(s.Targets, other.Target, group) {
				c.FollowsFrom = other.ID
				c.Summary += " Its servers: " + other.ID + "."
				break
			}
		}
	}
}

func (d *diagnosis) countLine(c *Cause, e logs.Entry) {
	c.Logged = true
	c.Occurrences++
	if c.Occurrences <= maxEvidenceLines {
		c.Evidence = append(c.Evidence, "error.log: "+e.Raw)
	}
}

func (d *diagnosis) isDynamicOrHost(e logs.Entry, dynamic []nginx.Target) bool {
	if len(dynamic) > 0 {
		return true
	}
	for _, t := range d.s.Targets {
		if t.Host == e.Target || t.Address == e.Target {
			return true
		}
	}
	return false
}

// ranked orders causes: confirmed both live and in the logs first, then
// by occurrences; a cause that follows from another comes after it.
func (d *diagnosis) ranked() []Cause {
	out := make([]Cause, 0, len(d.order))
	for _, c := range d.order {
		if c.Occurrences > maxEvidenceLines {
			c.Evidence = append(c.Evidence, fmt.Sprintf("… and %d more such lines in the window", c.Occurrences-maxEvidenceLines))
		}
		switch {
		case c.Live && c.Logged:
			c.Confidence = High
		case !c.Live && c.Logged && c.Confidence == High && c.ID != "no-resolver" && c.ID != "dns-failure" && c.ID != "nginx-resources":
			c.Confidence = Medium
		}
		if c.Live && c.Logged && c.Occurrences > 0 {
			c.Summary = strings.TrimSuffix(c.Summary, ".") + fmt.Sprintf(" (%s in %s).", count(c.Occurrences, "such error", "such errors"), d.s.windowPhrase())
		}
		out = append(out, *c)
	}
	score := func(c Cause) int {
		n := 0
		if c.Live {
			n += 2
		}
		if c.Logged {
			n += 2
		}
		switch c.Confidence {
		case High:
			n++
		case Low:
			n--
		}
		if c.FollowsFrom != "" {
			n -= 10
		}
		return n
	}
	sort.SliceStable(out, func(i, j int) bool {
		si, sj := score(out[i]), score(out[j])
		if si != sj {
			return si > sj
		}
		return out[i].Occurrences > out[j].Occurrences
	})
	return out
}

// classCauses maps a log line to the causes it can show, in order of
// preference: a live cause of the first kind already found absorbs it,
// else the last is created.
func classCauses(e logs.Entry, t nginx.Target) []string {
	switch e.Class {
	case logs.Refused:
		return []string{"wrong-address", "backend-down"}
	case logs.PermissionDenied:
		if t.Network == "unix" {
			return []string{"socket-permission"}
		}
		return []string{"firewall-blocked", "selinux-denied"}
	case logs.NoSuchFile:
		return []string{"wrong-address", "socket-missing"}
	case logs.Again:
		return []string{"backend-overloaded"}
	case logs.NoRoute, logs.NetUnreachable:
		return []string{"firewall-blocked"}
	case logs.Timeout:
		if strings.HasPrefix(e.Phase, "connecting") {
			return []string{"firewall-blocked", "backend-overloaded"}
		}
		return []string{"upstream-timeout"}
	case logs.Closed, logs.BrokenPipe:
		return []string{"upstream-closed"}
	case logs.Reset:
		return []string{"upstream-reset"}
	case logs.HeaderTooBig:
		return []string{"header-too-big"}
	case logs.InvalidHeader, logs.GRPC:
		return []string{"tls-handshake", "invalid-response"}
	case logs.TLS:
		return []string{"tls-handshake"}
	case logs.ResolveFailed, logs.ResolverError, logs.HostNotFound:
		return []string{"dns-failure"}
	}
	return nil
}

func loggedSummary(id string, t nginx.Target, e logs.Entry) string {
	last := ""
	if !e.Time.IsZero() {
		last = " (last at " + e.Time.Format("15:04:05") + "; it looks healthy now)"
	}
	what := map[string]string{
		"backend-down":       "refused connections",
		"socket-permission":  "denied nginx's workers the socket",
		"selinux-denied":     "was denied to nginx (13: Permission denied)",
		"socket-missing":     "had no socket file",
		"backend-overloaded": "did not accept connections in time",
		"firewall-blocked":   "was unreachable",
		"upstream-timeout":   "answered slower than nginx waits",
		"upstream-closed":    "closed connections before answering",
		"upstream-reset":     "reset connections",
		"header-too-big":     "sent a response header bigger than nginx's buffer",
		"invalid-response":   "sent a response nginx could not read",
		"tls-handshake":      "failed the TLS handshake",
		"dns-failure":        "did not resolve",
	}[id]
	return fmt.Sprintf("The backend at %s %s, per the error log%s.", t.Address, what, last)
}

// facts every cause of a target carries for the fix planner.
func (d *diagnosis) facts(t nginx.Target) map[string]string {
	f := map[string]string{}
	if len(t.ReferencedAt) > 0 {
		f["pass_at"] = t.ReferencedAt[0].String()
	}
	if t.Network == "unix" {
		f["socket"] = t.Path
	}
	if t.Port > 0 {
		f["port"] = strconv.Itoa(t.Port)
	}
	f["worker_user"] = d.s.WorkerUser.Name
	if u, ok := d.s.Units[t.Address]; ok {
		f["unit"] = u.Name
	}
	if len(t.Passes) > 0 {
		f["location_at"] = d.s.Config.Passes[t.Passes[0]].At.String()
	}
	return f
}

// entriesByTarget indexes the window's error-log lines by the target they
// name, with host names mapped to the addresses they resolved to.
func (s *Snapshot) entriesByTarget() map[string][]logs.Entry {
	alias := map[string]string{}
	for _, t := range s.Targets {
		for _, a := range s.Probes[t.Address].Resolved {
			alias[net.JoinHostPort(a, strconv.Itoa(t.Port))] = t.Address
		}
	}
	out := map[string][]logs.Entry{}
	for _, l := range s.ErrorLogs {
		for _, e := range l.Entries {
			if !s.Since.IsZero() && e.Time.Before(s.Since) {
				continue // older than the window: not evidence
			}
			k := e.Target
			if a, ok := alias[k]; ok {
				k = a
			}
			out[k] = append(out[k], e)
		}
	}
	return out
}

// listenerFor finds the listener that accepts connections for t.
func listenerFor(ls []host.Listener, t nginx.Target) (host.Listener, bool) {
	for _, l := range ls {
		if t.Network == "unix" {
			if l.Network == "unix" && l.Address == t.Path {
				return l, true
			}
			continue
		}
		if l.Network != "tcp" || l.Port != t.Port {
			continue
		}
		if accepts(l.IP, t.Host) {
			return l, true
		}
	}
	return host.Listener{}, false
}

// accepts says whether a socket bound to ip takes connections to dest.
func accepts(ip, dest string) bool {
	if ip == dest || ip == "::" || ip == "" {
		return true // [::] also takes IPv4 unless bindv6only is set
	}
	d := net.ParseIP(dest)
	return ip == "0.0.0.0" && (d == nil || d.To4() != nil)
}

// alternative finds where a backend that refuses at t probably listens:
// the same port on another address (the other loopback family, another
// interface), else a backend-like process on a nearby port.
func (s *Snapshot) alternative(t nginx.Target) (host.Listener, string, bool) {
	for _, l := range s.Listeners {
		if l.Network == "tcp" && l.Port == t.Port && !accepts(l.IP, t.Host) && !isNginx(l) {
			why := "the same port on another address"
			if isLoopback(l.IP) && isLoopback(t.Host) {
				why = "the other loopback family"
			}
			return l, why, true
		}
	}
	used := map[int]bool{}
	for _, o := range s.Targets {
		used[o.Port] = true
	}
	var best host.Listener
	bestDist := 0
	for _, l := range s.Listeners {
		// A listener on an ephemeral port is some program's passing
		// socket, not a configured backend: only fixed ports qualify.
		if l.Network != "tcp" || l.Port >= ephemeralPorts || used[l.Port] || isNginx(l) || notBackend(l) || !(isLoopback(l.IP) || l.IP == "0.0.0.0" || l.IP == "::") {
			continue
		}
		dist := l.Port - t.Port
		if dist < 0 {
			dist = -dist
		}
		if dist <= 10 && (bestDist == 0 || dist < bestDist) {
			best, bestDist = l, dist
		}
	}
	if bestDist > 0 {
		return best, "a nearby port", true
	}
	return host.Listener{}, "", false
}

// alternativeSocket finds a listening unix socket beside a missing one:
// the same directory (php8.1-fpm.sock for php8.2-fpm.sock) or the same name elsewhere.
func (s *Snapshot) alternativeSocket(t nginx.Target) (host.Listener, bool) {
	dir, base := filepath.Dir(t.Path), filepath.Base(t.Path)
	stem := strings.SplitN(base, ".", 2)[0]
	for _, l := range s.Listeners {
		if l.Network != "unix" || isNginx(l) {
			continue
		}
		if filepath.Base(l.Address) == base {
			return l, true
		}
		if filepath.Dir(l.Address) == dir && strings.HasSuffix(l.Address, ".sock") && commonPrefix(stem, filepath.Base(l.Address)) >= 3 {
			return l, true
		}
	}
	return host.Listener{}, false
}

// firewallRule finds a local reject/drop rule that matches t.
func (s *Snapshot) firewallRule(t nginx.Target) (host.Rule, bool) {
	for _, r := range s.Firewall.Rules {
		if r.Action != "reject" && r.Action != "drop" {
			continue
		}
		if r.Port == 0 && r.Dest == "" && len(r.Except) == 0 {
			continue // a policy: it would block everything, not this target
		}
		if !r.Matches(t.Host, t.Port) {
			continue
		}
		return r, true
	}
	return host.Rule{}, false
}

func (s *Snapshot) listenersOnPort(port int) []string {
	var out []string
	for _, l := range s.Listeners {
		if l.Network == "tcp" && l.Port == port {
			out = append(out, "listener: "+listenerLine(l))
		}
	}
	if len(out) == 0 && port > 0 {
		out = append(out, fmt.Sprintf("listeners: none on port %d", port))
	}
	return out
}

func isLoopback(ip string) bool {
	p := net.ParseIP(ip)
	return p != nil && p.IsLoopback()
}

func isNginx(l host.Listener) bool { return l.Process == "nginx" }

// notBackend names services that listen locally but never serve HTTP to nginx.
func notBackend(l host.Listener) bool {
	switch l.Process {
	case "sshd", "postgres", "mysqld", "mariadbd", "redis-server", "memcached", "systemd", "systemd-resolved",
		"dnsmasq", "chronyd", "master", "exim4", "containerd", "dockerd", "rpcbind", "cupsd", "named", "unbound", "ngxdoctor":
		return true
	}
	switch l.Port {
	case 22, 25, 53, 111, 631, 3306, 5432, 6379, 11211, 27017:
		return true
	}
	return false
}

func altConfidence(why string) Confidence {
	if why == "a nearby port" {
		return Medium
	}
	return High
}

// altAddress writes the listener's address in the target's form.
func altAddress(t nginx.Target, l host.Listener) string {
	ip := l.IP
	if ip == "0.0.0.0" || ip == "::" || ip == "" {
		ip = t.Host
	}
	return net.JoinHostPort(ip, strconv.Itoa(l.Port))
}

func probeLine(t nginx.Target, p probe.Result) string {
	s := fmt.Sprintf("probe %s: %s", t.Address, p.Status)
	if p.Error != "" {
		s += " (" + p.Error + ")"
	}
	if h := p.HTTP; h != nil {
		switch {
		case h.Error != "":
			s += fmt.Sprintf("; %s request: %s", h.Protocol, h.Error)
		case h.Status > 0:
			s += fmt.Sprintf("; %s %d in %s, header %d bytes", h.Protocol, h.Status, msText(h.TTFB), h.HeaderBytes)
		}
	}
	return s
}

func listenerLine(l host.Listener) string {
	s := l.Address
	if l.Process != "" {
		s += fmt.Sprintf(" %s pid %d", l.Process, l.PID)
	}
	if l.User != "" {
		s += " user " + l.User
	}
	if l.Backlog > 0 {
		s += fmt.Sprintf(" queue %d/%d", l.Queue, l.Backlog)
	}
	return s
}

func who(l host.Listener) string {
	if l.Process != "" {
		return fmt.Sprintf("%s (pid %d)", l.Process, l.PID)
	}
	return "a process"
}

func fileKind(fi host.FileInfo) string {
	switch {
	case fi.Mode.IsDir():
		return "directory"
	case fi.Mode&0o170000 == 0 && fi.Mode.IsRegular():
		return "regular file"
	case fi.Target != "":
		return "symlink to " + fi.Target
	}
	return "non-socket file"
}

func protocolName(t nginx.Target) string {
	switch t.Kind {
	case "fastcgi":
		return "FastCGI"
	case "https":
		return "HTTPS"
	}
	return "HTTP"
}

// bufferSize is the response-header buffer in force for a pass.
func bufferSize(p nginx.Pass) (name string, size int64, at string) {
	name = p.Module + "_buffer_size"
	v := nginx.DefaultSetting(name)
	if d, ok := p.Settings.Get(name); ok && len(d.Args) > 0 {
		v, at = d.Args[0], d.At.String()
	}
	size, _ = nginx.ParseSize(v)
	return name, size, at
}

// readTimeout is the read timeout in force for a pass.
func readTimeout(p nginx.Pass) (name string, limit time.Duration, at string) {
	name = p.Module + "_read_timeout"
	v := nginx.DefaultSetting(name)
	if d, ok := p.Settings.Get(name); ok && len(d.Args) > 0 {
		v, at = d.Args[0], d.At.String()
	}
	limit, _ = nginx.ParseDuration(v)
	return name, limit, at
}

func atOrDefault(at string) string {
	if at == "" {
		return "nginx's default"
	}
	return at
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dm", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func resourceName(c logs.Class) string {
	switch c {
	case logs.TooManyFiles:
		return "open files (worker_rlimit_nofile / LimitNOFILE)"
	case logs.WorkerConns:
		return "worker_connections"
	}
	return "local ports for upstream connections (use keepalive)"
}

func targetInGroup(ts []nginx.Target, addr, group string) bool {
	for _, t := range ts {
		if t.Address == addr && t.Upstream == group {
			return true
		}
	}
	return false
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func firstLine(out, want string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, want) {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
}

func splitLines(s string, n int) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, "nginx -t: "+l)
		}
		if len(out) == n {
			break
		}
	}
	return out
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ListenerFor finds the listener that accepts connections for t, if any.
func ListenerFor(ls []host.Listener, t nginx.Target) (host.Listener, bool) { return listenerFor(ls, t) }

// msText writes a short duration readably: 0.2ms, 14ms, 2.1s.
func msText(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return d.Round(100 * time.Millisecond).String()
}

// errnoText writes a probe's failure as nginx logs it: "113: No route to host".
func errnoText(p probe.Result) string {
	if p.Errno == 0 {
		return p.Error
	}
	msg := syscall.Errno(p.Errno).Error()
	return fmt.Sprintf("%d: %s", p.Errno, strings.ToUpper(msg[:1])+msg[1:])
}

// resolveReason keeps what a resolver line adds: "(3: Host not found)".
func resolveReason(e logs.Entry) string {
	if i := strings.LastIndex(e.Message, " ("); i >= 0 {
		return e.Message[i:]
	}
	return ""
}

// windowPhrase is the log window in words: "the last 15m", "the whole log".
func (s *Snapshot) windowPhrase() string {
	if s.Since.IsZero() {
		return "the whole log"
	}
	return "the last " + s.windowText()
}

// ruleName names a rule in a sentence: "An iptables rule in OUTPUT".
func ruleName(r host.Rule) string {
	n := "A " + r.Tool + " rule"
	if strings.HasPrefix(r.Tool, "ip") { // "an iptables rule", but "a ufw rule"
		n = "An " + r.Tool + " rule"
	}
	if r.Chain != "" {
		n += " in " + r.Chain
	}
	return n
}
