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
// only: every fact it needs was collected before. What shows each cause is
// in its rule (rule.go, cause_*.go); this is the engine that asks them,
// merges and ranks.
func Diagnose(s *Snapshot) []Cause {
	d := &diagnosis{s: s, byKey: map[string]*Cause{}, quoted: map[*Cause]int{}}
	for _, r := range rules {
		if r.Nginx != nil {
			for _, c := range r.Nginx(s) {
				d.add(c)
			}
		}
	}
	counts := s.countsByTarget()
	for _, t := range s.Targets {
		if t.Dynamic {
			continue
		}
		if p, probed := s.Probes[t.Address]; probed {
			for _, r := range rules {
				if r.Live != nil && r.applies(s) {
					for _, c := range r.Live(s, t, p) {
						d.add(c)
					}
				}
			}
		}
		for _, n := range counts[t.Address] {
			d.logged(t, n)
		}
	}
	d.unattached(counts)
	d.requests()
	for _, r := range rules {
		if r.Relate == nil {
			continue
		}
		for _, c := range d.order {
			if c.ID == r.ID {
				r.Relate(s, c, d.order)
			}
		}
	}
	d.serviceHistory()
	d.blindEvidence()
	d.where()
	return d.ranked()
}

// where says of each cause on a target where the config leads to it:
// every *_pass and upstream server line (file:line), the group, and how
// many of the group's servers do not accept now.
//
// The first whereShown passes are named, the rest counted: behind a shared
// upstream of a 50,000-server config every cause would otherwise carry a
// line of 50,000 references (the JSON's targets list them all).
func (d *diagnosis) where() {
	s := d.s
	byAddr := make(map[string]int, len(s.Targets))
	for i, t := range s.Targets {
		if _, ok := byAddr[t.Address]; !ok && !t.Dynamic {
			byAddr[t.Address] = i
		}
	}
	health := map[string]string{} // by upstream: one walk of the targets per group
	for _, c := range d.order {
		i, ok := byAddr[c.Target]
		if !ok {
			continue
		}
		t := s.Targets[i]
		var at []string
		for k, pi := range t.Passes {
			if k == whereShown {
				at = append(at, fmt.Sprintf("and %d more passes", len(t.Passes)-whereShown))
				break
			}
			p := s.Config.Passes[pi]
			loc := ""
			if p.Location != "" {
				loc = " in location " + p.Location
			}
			at = append(at, fmt.Sprintf("%s %s%s (%s)", p.Directive, p.Value, loc, p.At))
		}
		if t.Server != nil {
			at = append(at, fmt.Sprintf("server %s in upstream %s (%s)", t.Server.Address, t.Upstream, t.Server.At))
		}
		if len(at) > 0 {
			c.Evidence = append([]string{"config: " + strings.Join(at, "; ")}, c.Evidence...)
		}
		if t.Upstream != "" {
			line, seen := health[t.Upstream]
			if !seen {
				line = s.groupHealth(t.Upstream)
				health[t.Upstream] = line
			}
			if line != "" {
				c.Evidence = append(c.Evidence, line)
			}
		}
	}
}

// whereShown is how many passes a cause's config line names.
const whereShown = 5

// groupHealth is "upstream app: 1 of 2 servers do not accept connections".
func (s *Snapshot) groupHealth(group string) string {
	total := 0
	var down []string
	for _, t := range s.Targets {
		if t.Upstream != group {
			continue
		}
		total++
		if p, ok := s.Probes[t.Address]; ok && p.Status != probe.Connected {
			down = append(down, t.Address)
		}
	}
	if total == 0 {
		return ""
	}
	if len(down) == 0 {
		return fmt.Sprintf("upstream %s: %s, all accepting connections", group, count(total, "server", "servers"))
	}
	// The count, not the other servers' addresses: each is its own cause,
	// and a search for one address finds its cause, not its neighbours'.
	verb := "do not accept"
	if len(down) == 1 {
		verb = "does not accept"
	}
	return fmt.Sprintf("upstream %s: %d of %s %s connections", group, len(down), count(total, "server", "servers"), verb)
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
	// quoted is how many log lines a cause's evidence quotes.
	quoted map[*Cause]int
}

func (d *diagnosis) get(id CauseID, target string) (*Cause, bool) {
	c, ok := d.byKey[string(id)+"\x00"+target]
	return c, ok
}

// add records a cause, or merges into the one already found for the same
// id and target.
func (d *diagnosis) add(c Cause) *Cause {
	if old, ok := d.get(c.ID, c.Target); ok {
		old.Live = old.Live || c.Live
		for _, e := range c.Evidence {
			if !contains(old.Evidence, e) {
				old.Evidence = append(old.Evidence, e)
			}
		}
		old.Facts.fill(c.Facts)
		return old
	}
	p := &c
	d.byKey[string(c.ID)+"\x00"+c.Target] = p
	d.order = append(d.order, p)
	return p
}

// liveCause is a cause a probe of t confirms now, with the probe's line
// first in its evidence and the facts every cause of a target carries.
func (s *Snapshot) liveCause(id CauseID, t nginx.Target, p probe.Result, conf Confidence, summary string, ev ...string) Cause {
	return Cause{ID: id, Target: t.Address, Live: true, Confidence: conf, Summary: summary,
		Evidence: append([]string{probeLine(t, p)}, ev...), Facts: s.baseFacts(t)}
}

// logged merges the error-log lines of one count (class, target, phase)
// into the cause they show for target t: a cause of a rule that matches
// them, already found, absorbs them; else the rule that Creates it makes
// one from the log. The rules see the count's first line; its lines all
// share what they read.
func (d *diagnosis) logged(t nginx.Target, n logs.Count) {
	e := n.Entry()
	var c *Cause
	var creator *Rule
	for _, r := range rules {
		if r.Logged == nil || !r.applies(d.s) {
			continue
		}
		m := r.Logged(e, t)
		if m == NoMatch {
			continue
		}
		if m == Creates {
			creator = r
		}
		if old, ok := d.get(r.ID, t.Address); ok && c == nil {
			c = old
		}
	}
	if c == nil {
		if creator == nil {
			return
		}
		c = d.add(Cause{ID: creator.ID, Target: t.Address, Confidence: Medium, Summary: loggedSummary(creator.Seen, t), Facts: d.s.baseFacts(t)})
		if creator.LogFacts != nil && len(t.Passes) > 0 {
			creator.LogFacts(d.s, t, c)
		}
	}
	if n.Last.After(c.lastSeen) {
		c.lastSeen = n.Last
	}
	d.countLines(c, n)
}

// requests attributes every failing request through nginx to a cause: by
// the lines nginx wrote for it, else by a rule's Request hook, else to a
// cause already found behind its location. Then the causes only the log
// showed say whether the request through nginx works now.
func (d *diagnosis) requests() {
	s := d.s
	for _, r := range s.Replays {
		if !r.Failed() {
			continue
		}
		c := d.explain(r)
		if c == nil {
			continue // the verdict says what nothing explains
		}
		c.Live = true
		c.Requests = append(c.Requests, r.Text()+" → "+r.Answer())
		c.Evidence = append(c.Evidence, fmt.Sprintf("through nginx now: %s %s Host: %s → %s", r.Method, r.Path, r.Host, r.Answer()))
	}
	for _, c := range d.order {
		if len(c.Requests) > 0 {
			if works := d.s.working(c); len(works) > 0 {
				c.Summary = strings.TrimSuffix(c.Summary, ".") + fmt.Sprintf(": %s fails, %s works.", firstWord(c.Requests), strings.Join(works, ", "))
			}
			continue
		}
		if c.Live || !c.Logged || c.lastSeen.IsZero() {
			continue
		}
		c.Summary = strings.TrimSuffix(c.Summary, ".") + " " + d.s.nowPhrase(c) + "."
	}
}

// explain finds the cause of one failing request through nginx.
func (d *diagnosis) explain(r Replay) *Cause {
	s := d.s
	alias := s.aliases()
	for _, e := range r.Lines {
		k := e.Target
		if a, ok := alias[k]; ok {
			k = a
		}
		for _, t := range s.Targets {
			if t.Address != k || t.Dynamic {
				continue
			}
			if c := d.fromLine(t, e, r); c != nil {
				return c
			}
		}
	}
	for _, rule := range rules {
		if rule.Request == nil {
			continue
		}
		if c, ok := rule.Request(s, r); ok {
			return d.add(c)
		}
	}
	for _, t := range s.passTargets(r.Pass) {
		for _, c := range d.order {
			if c.Target == t.Address {
				return c
			}
		}
	}
	for _, t := range s.passTargets(r.Pass) {
		if t.Upstream == "" {
			continue
		}
		if c, ok := d.get(CauseNoLiveUpstreams, "upstream "+t.Upstream); ok {
			return c
		}
	}
	return nil
}

// fromLine is the cause a line nginx wrote for a request made now shows:
// one already found absorbs it, else the rule that creates it makes one,
// confirmed live by the request itself.
func (d *diagnosis) fromLine(t nginx.Target, e logs.Entry, r Replay) *Cause {
	var creator *Rule
	for _, rule := range rules {
		if rule.Logged == nil {
			continue
		}
		m := rule.Logged(e, t)
		if m == NoMatch {
			continue
		}
		if old, ok := d.get(rule.ID, t.Address); ok {
			return old
		}
		if m == Creates {
			creator = rule
		}
	}
	if creator == nil {
		return nil
	}
	c := d.add(Cause{ID: creator.ID, Target: t.Address, Confidence: High,
		Summary:  fmt.Sprintf("The backend at %s %s: nginx logged it for %s just now.", t.Address, creator.Seen, r.Text()),
		Evidence: []string{"error.log: " + e.Raw}, Facts: d.s.baseFacts(t)})
	if creator.LogFacts != nil && len(t.Passes) > 0 {
		creator.LogFacts(d.s, t, c)
	}
	return c
}

// working lists the requests through nginx that answered, on the
// locations behind c's target: "GET / works" beside "GET /export fails".
func (s *Snapshot) working(c *Cause) []string {
	var out []string
	for _, r := range s.Replays {
		if !r.Works() || !s.behind(r, c.Target) {
			continue
		}
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// behind says whether a request's location leads to target.
func (s *Snapshot) behind(r Replay, target string) bool {
	for _, t := range s.passTargets(r.Pass) {
		if t.Address == target || "upstream "+t.Upstream == target {
			return true
		}
	}
	return false
}

// nowPhrase says, for a cause only the log shows, what a request through
// nginx shows now.
func (s *Snapshot) nowPhrase(c *Cause) string {
	last := "(last at " + c.lastSeen.Format("15:04:05")
	var ok []string
	for _, r := range s.Replays {
		if s.behind(r, c.Target) && r.Works() {
			ok = append(ok, r.Method+" "+r.Path)
		}
	}
	if len(ok) > 0 {
		return last + "; it looks healthy now: " + strings.Join(ok, ", ") + " through nginx answers)"
	}
	return last + "; no request through nginx checked it now)"
}

func firstWord(reqs []string) string {
	r := reqs[0]
	if i := strings.Index(r, " on "); i >= 0 {
		r = r[:i]
	}
	return r
}

// unattached hands the window's log lines to the rules that read lines
// about no static target: upstream groups with no live servers, names
// nginx could not resolve, and nginx's own limits.
func (d *diagnosis) unattached(counts map[string][]logs.Count) {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, n := range counts[k] {
			e := n.Entry()
			for _, r := range rules {
				if r.Unattached == nil || !r.applies(d.s) {
					continue
				}
				found, ok := r.Unattached(d.s, e)
				if !ok {
					continue
				}
				c, had := d.get(found.ID, found.Target)
				if !had {
					c = d.add(found)
				}
				d.countLines(c, n)
			}
		}
	}
}

// countLines adds a count's lines to c's occurrences, exactly, and quotes
// its examples while c quotes fewer than maxEvidenceLines.
func (d *diagnosis) countLines(c *Cause, n logs.Count) {
	c.Logged = true
	c.Occurrences += n.Lines
	for _, e := range n.Examples {
		if d.quoted[c] >= maxEvidenceLines {
			break
		}
		c.Evidence = append(c.Evidence, "error.log: "+e.Raw)
		d.quoted[c]++
	}
}

// dynamicTargets are the targets whose *_pass has variables.
func (s *Snapshot) dynamicTargets() []nginx.Target {
	var out []nginx.Target
	for _, t := range s.Targets {
		if t.Dynamic {
			out = append(out, t)
		}
	}
	return out
}

// resolvedHere says whether a resolver line is about this config: a pass
// with variables resolves at request time, else a target's own host name.
func (s *Snapshot) resolvedHere(e logs.Entry) bool {
	if len(s.dynamicTargets()) > 0 {
		return true
	}
	for _, t := range s.Targets {
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
		if q := d.quoted[c]; c.Occurrences > q && q > 0 {
			c.Evidence = append(c.Evidence, fmt.Sprintf("… and %d more such lines in the window", c.Occurrences-q))
		}
		switch {
		case c.Live && c.Logged:
			c.Confidence = High
		case !c.Live && c.Logged && c.Confidence == High && !logProves(c.ID):
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

func logProves(id CauseID) bool {
	r := RuleOf(id)
	return r != nil && r.LogProves
}

// loggedSummary is a cause's summary when only the log shows it; seen is
// the rule's phrase ("refused connections"). Whether it looks healthy now
// is said once the requests through nginx are judged (nowPhrase).
func loggedSummary(seen string, t nginx.Target) string {
	return fmt.Sprintf("The backend at %s %s, per the error log.", t.Address, seen)
}

// baseFacts every cause of a target carries for the fix planner.
func (s *Snapshot) baseFacts(t nginx.Target) Facts {
	f := Facts{WorkerUser: s.WorkerUser.Name}
	if len(t.ReferencedAt) > 0 {
		f.PassAt = t.ReferencedAt[0].String()
	}
	if t.Network == "unix" {
		f.Socket = t.Path
	}
	if t.Port > 0 {
		f.Port = t.Port
	}
	if u, ok := s.Units[t.Address]; ok {
		f.Unit = u.Name
	}
	if len(t.Passes) > 0 {
		f.LocationAt = s.Config.Passes[t.Passes[0]].At.String()
	}
	return f
}

// socketBlocks: the socket's path itself explains a unix target (missing,
// not a socket, closed to the workers), so what a connect gave says nothing more.
func (s *Snapshot) socketBlocks(t nginx.Target) bool {
	if t.Network != "unix" {
		return false
	}
	so := s.Sockets[t.Path]
	return (!so.Exists && so.Err == "") || (so.Exists && !so.IsSocket) || (so.Exists && !so.WorkerMay)
}

// answer is the backend's HTTP answer when t accepted the probe's
// connection, nil otherwise.
func (s *Snapshot) answer(t nginx.Target, p probe.Result) *probe.HTTP {
	if p.Status != probe.Connected || s.socketBlocks(t) {
		return nil
	}
	return p.HTTP
}

// speaksTLSToPlain: the port speaks TLS while nginx talks plain to it;
// whatever else the probe saw follows from that.
func speaksTLSToPlain(t nginx.Target, h *probe.HTTP) bool {
	return h.Speaks == "tls" && t.Kind != "https"
}

// answered is the HTTP answer of a backend that accepted and speaks the
// protocol nginx talks, nil otherwise: what the response rules judge.
func (s *Snapshot) answered(t nginx.Target, p probe.Result) *probe.HTTP {
	h := s.answer(t, p)
	if h == nil || speaksTLSToPlain(t, h) {
		return nil
	}
	if _, ok := s.mismatch(t); ok {
		return nil // invalid-response says which protocol the port wants
	}
	return h
}

// countsByTarget indexes the window's error-log counts by the target
// they name, with host names mapped to the addresses they resolved to.
// The diagnosis works per count, not per line: its cost follows the
// distinct (class, target, phase) keys, whatever the window holds.
func (s *Snapshot) countsByTarget() map[string][]logs.Count {
	alias := s.aliases()
	out := map[string][]logs.Count{}
	for _, l := range s.ErrorLogs {
		for _, n := range s.windowCounts(l) {
			k := n.Target
			if a, ok := alias[k]; ok {
				k = a
			}
			out[k] = append(out[k], n)
		}
	}
	return out
}

// aliases map the addresses host names resolved to onto their targets.
func (s *Snapshot) aliases() map[string]string {
	alias := map[string]string{}
	for _, t := range s.Targets {
		for _, a := range s.Probes[t.Address].Resolved {
			alias[net.JoinHostPort(a, strconv.Itoa(t.Port))] = t.Address
		}
	}
	return alias
}

// windowCounts are a log's counts in the window. A log read without
// counts (a recording made before them, a test's snapshot) is counted
// from its entries.
func (s *Snapshot) windowCounts(l logs.ErrorLog) []logs.Count {
	if len(l.Counts) > 0 || len(l.Entries) == 0 {
		return s.withoutOurs(l)
	}
	in := make([]logs.Entry, 0, len(l.Entries))
	for _, e := range l.Entries {
		if (s.Since.IsZero() || !e.Time.Before(s.Since)) && !s.ours(e) {
			in = append(in, e)
		}
	}
	return logs.Tally(in)
}

// withoutOurs are a log's counts less the lines nginx wrote for
// ngxdoctor's own earlier requests through nginx: not the incident's.
func (s *Snapshot) withoutOurs(l logs.ErrorLog) []logs.Count {
	if len(s.ourRequests) == 0 {
		return l.Counts
	}
	out := make([]logs.Count, len(l.Counts))
	copy(out, l.Counts)
	for _, e := range l.Entries {
		if !s.ours(e) {
			continue
		}
		for i := range out {
			n := &out[i]
			if n.Class != e.Class || n.Target != e.Target || n.Phase != e.Phase {
				continue
			}
			n.Lines--
			kept := make([]logs.Entry, 0, len(n.Examples))
			for _, x := range n.Examples {
				if x.Raw != e.Raw {
					kept = append(kept, x)
				}
			}
			n.Examples = kept
			break
		}
	}
	kept := out[:0]
	for _, n := range out {
		if n.Lines > 0 {
			kept = append(kept, n)
		}
	}
	return kept
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
// interface), else a listener no config references that answers t's
// request (see movedTo).
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
	// Elsewhere: a listener that answered the target's own request
	// (moved.go), never merely one that happens to listen nearby.
	if c := s.movedTo(t); len(c) > 0 {
		why := "it answers the same request"
		if c[0].Who.Role == host.RoleApp {
			why = "an application server no config references, and it answers the same request"
		}
		return c[0].Listener, why, true
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
