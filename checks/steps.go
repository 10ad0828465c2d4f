package checks

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// Steps are the ten steps an expert takes when nginx answers 502, in order.
func Steps() []Step {
	return []Step{
		{Number: 1, Needs: NeedConfig | NeedHost | NeedProbes | NeedMoved, Title: "Backend status", Checks: []Check{{"backend.reachable", checkReachable}, {"backend.listeners", checkListeners}},
			Why: "nginx only relays: a 502 means the process behind it did not give a usable answer. First see whether anything accepts at each address nginx uses, and who listens there.",
			Learn: "Every proxy_pass, fastcgi_pass or upstream server line names an address. If nothing accepts there, nginx logs \"connect() failed (111: Connection refused)\" and answers 502. " +
				"Connect to each address the way nginx does, then compare with the listener table (ss -tlnp): a backend that listens on [::1] while nginx dials 127.0.0.1, or on 3001 instead of 3000, is a wrong address, not a dead backend, and restarting it changes nothing."},
		{Number: 2, Needs: NeedConfig | NeedConfigTest, Title: "Upstream configuration", Checks: []Check{{"config.test", checkConfigTest}, {"config.targets", checkTargets}, {"config.resolver", checkResolver}},
			Why: "The config decides where requests go. A typo in a port, a missing upstream or a variable without a resolver sends every request to the wrong place.",
			Learn: "Read the config as nginx does, includes and all (nginx -T prints it whole). For each location, follow its *_pass to a target. " +
				"nginx -t must pass: if it fails, the config on disk is not the one running, and the next reload will fail. A proxy_pass with a $variable is resolved per request and needs a resolver directive; without one nginx logs \"no resolver defined\"."},
		{Number: 3, Needs: NeedConfig | NeedHost | NeedProbes, Title: "Network connectivity", Checks: []Check{{"network.firewall", checkFirewall}, {"network.selinux", checkSELinux}, {"network.dns", checkDNS}},
			Why: "Between nginx and its backend stand the firewall, SELinux and DNS. Each can stop a connection that the backend would gladly accept.",
			Learn: "A REJECT rule shows as \"113: No route to host\", a DROP rule as a connect timeout. On RHEL-like systems SELinux denies httpd_t outgoing connections unless httpd_can_network_connect is on: nginx logs \"13: Permission denied\" for a TCP backend that curl reaches fine as root. " +
				"Host names in proxy_pass are resolved when nginx starts; a name that stops resolving breaks the next start."},
		{Number: 4, Needs: NeedConfig | NeedLogs | NeedProbes, Title: "Timeouts and buffers", Checks: []Check{{"timeouts.read", checkTimeouts}, {"buffers.header", checkBuffers}},
			Why: "A backend that answers, but too slowly or with too large a header, still fails: 504 when nginx stops waiting, 502 when the header does not fit its buffer.",
			Learn: "proxy_read_timeout (default 60s) is how long nginx waits between two reads of the response; proxy_connect_timeout how long it waits to connect. " +
				"The response header must fit proxy_buffer_size (one memory page, 4k or 8k, by default): big cookies or many headers give \"upstream sent too big header\". The fastcgi_, uwsgi_ and grpc_ families have the same settings."},
		{Number: 5, Needs: NeedConfig | NeedHost | NeedLogs | NeedProbes, Title: "Backend service", Checks: []Check{{"service.state", checkService}, {"service.responses", checkResponses}},
			Why: "A backend that crashes, restarts in a loop or is killed for memory makes 502s come and go. Its service manager and the kernel remember what happened.",
			Learn: "systemctl status shows whether the unit runs and how often it restarted; journalctl -u UNIT shows why. The kernel logs OOM kills (journalctl -k, dmesg). " +
				"A backend that accepts and then closes the connection gives \"upstream prematurely closed connection\"; one that resets it gives \"104: Connection reset by peer\"."},
		{Number: 6, Needs: NeedConfig | NeedHost, Title: "Socket permissions", Checks: []Check{{"socket.access", checkSockets}},
			Why: "A unix socket is a file: nginx's worker user needs write permission on it and search permission on every directory above it.",
			Learn: "nginx's workers run as an unprivileged user (www-data on Debian, nginx on RHEL), not as root. php-fpm and gunicorn create their socket with their own owner and mode; if the workers may not write to it, nginx logs \"connect() to unix:... failed (13: Permission denied)\". " +
				"Fix it at the source (php-fpm's listen.owner, listen.group, listen.mode) or the next restart of the backend undoes a chmod."},
		{Number: 7, Needs: NeedConfig | NeedHost | NeedLogs | NeedProbes, Title: "Upstream health", Checks: []Check{{"upstream.groups", checkGroups}, {"upstream.queue", checkQueues}},
			Why: "With several servers, nginx marks one failed after max_fails errors and skips it for fail_timeout. When all are marked, every request fails at once with \"no live upstreams\".",
			Learn: "\"no live upstreams\" is a consequence: find what failed the servers first. A backend whose accept queue is full (ss -ltn shows Recv-Q at Send-Q) makes connects time out under load; more workers, a bigger backlog or keepalive connections help. " +
				"proxy_next_upstream decides which errors make nginx try the next server."},
		{Number: 8, Needs: NeedConfig | NeedLogs, Title: "Error and access logs", Checks: []Check{{"logs.errors", checkErrorLog}, {"logs.access", checkAccessLog}, {"logs.format", checkLogFormat}},
			Why: "The error log says exactly what nginx saw, per request and per upstream. Reading only the recent window keeps old incidents out of today's verdict.",
			Learn: "Each upstream error line carries the message, the errno, the phase (\"while connecting to upstream\", \"while reading response header\") and the upstream address. " +
				"A log_format with $upstream_addr, $upstream_status and $upstream_response_time shows which server answered what and how fast; error_log ... debug shows every step but only if nginx was built with --with-debug."},
		{Number: 9, Needs: NeedConfig | NeedReplay, Title: "Verify through nginx", Checks: []Check{{"verify.requests", checkThroughNginx}},
			Why:   "The last word is a real request through nginx, to the same server and location that failed, compared with the backend answering directly.",
			Learn: "curl -sv -H 'Host: NAME' http://127.0.0.1/PATH asks nginx the way a client does. 200 through nginx while the backend answers directly means the fix holds; a 502 through nginx with a healthy backend points back at the config or permissions. Watch the error log while you test."},
		{Number: 10, Needs: NeedConfig, Title: "Monitoring", Checks: []Check{{"monitor.status", checkMonitoring}},
			Why:   "The next 502 should page someone before users notice. nginx's stub_status and a periodic check of each backend make that cheap.",
			Learn: "stub_status on a localhost-only location gives active connections and request counts. A timer that runs ngxdoctor check every minute and writes its result for node_exporter's textfile collector turns this wizard into an alert. Monitoring is advice: it never makes this report fail."},
	}
}

// ---- step 1

func checkReachable(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		switch {
		case t.Kind == "fastcgi" && t.Network == "unix":
			return []string{"ls -la " + shellWord(t.Path), "cgi-fcgi -bind -connect " + shellWord(t.Path)}
		case t.Kind == "fastcgi":
			return []string{"nc -zv " + shellWord(t.Host) + " " + strconv.Itoa(t.Port)}
		case t.Network == "unix":
			return []string{"curl -sv --unix-socket " + shellWord(t.Path) + " http://localhost/"}
		}
		return []string{"curl -sv " + shellWord("http://"+t.Address+"/")}
	}, "ss -tlnp", "ss -xlp")}
	var bad, ok int
	for _, t := range s.Targets {
		p, found := s.Probes[t.Address]
		if !found {
			continue
		}
		r.Evidence = append(r.Evidence, probeLine(t, p))
		switch p.Status {
		case probe.Connected:
			ok++
		case probe.Skipped:
		default:
			bad++
		}
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "The config passes requests to no backend."
	case bad > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%d of %d backends do not accept connections.", bad, bad+ok)
	default:
		r.Status, r.Summary = Pass, all(ok, "The backend accepts connections.", "backends accept connections.")
	}
	return r
}

func checkListeners(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		if t.Network == "unix" {
			return []string{"ss -xlp | grep -F " + shellWord(t.Path)}
		}
		return []string{fmt.Sprintf("ss -tlnp 'sport = :%d'", t.Port)}
	})}
	missing := 0
	for _, t := range s.Targets {
		if t.Dynamic {
			continue
		}
		if l, ok := listenerFor(s.Listeners, t); ok {
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s ← %s", t.Address, listenerLine(l)))
			continue
		}
		missing++
		line := fmt.Sprintf("%s ← nobody listens", t.Address)
		if alt, why, ok := s.alternative(t); ok && t.Network == "tcp" {
			line += fmt.Sprintf("; %s listens at %s (%s)", who(alt), alt.Address, why)
		}
		if alt, ok := s.alternativeSocket(t); ok && t.Network == "unix" {
			line += fmt.Sprintf("; %s listens at %s", who(alt), alt.Address)
		}
		r.Evidence = append(r.Evidence, line)
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No static backend to look up."
	case missing > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("No listener for %s.", count(missing, "backend address", "backend addresses"))
	default:
		r.Status, r.Summary = Pass, "Every backend address has a listener."
	}
	if len(s.Listeners) == 0 && !s.Root {
		r.Summary += " (Without root, other users' processes are hidden.)"
	}
	return r
}

// ---- step 2

func checkConfigTest(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{s.nginxCmd("-t"), s.nginxCmd("-T") + " | less"}}
	for _, e := range s.Config.Errors {
		r.Evidence = append(r.Evidence, "parse: "+e)
	}
	switch {
	case !s.ConfigTest.Ran:
		r.Status, r.Summary = Skip, "nginx -t could not run (no nginx binary found)."
	case s.ConfigTest.Inconclusive != "":
		r.Status, r.Summary = Skip, "Not tested: "+s.ConfigTest.Inconclusive+"; run with sudo."
		r.Evidence = append(r.Evidence, splitLines(s.ConfigTest.Output, 3)...)
	case !s.ConfigTest.OK:
		r.Status, r.Summary = Fail, "nginx -t fails: "+firstLine(s.ConfigTest.Output, "[emerg]")
		r.Evidence = append(r.Evidence, splitLines(s.ConfigTest.Output, 8)...)
	default:
		r.Status, r.Summary = Pass, fmt.Sprintf("nginx -t passes for %s (%d files).", s.Install.Config, len(s.Config.Files))
	}
	return r
}

func checkTargets(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{s.nginxGrep("-nE '(proxy|fastcgi|uwsgi|scgi|grpc)_pass|upstream|server '")}}
	var ev evidence
	for _, p := range s.Config.Passes {
		if !ev.room() {
			ev.skip()
			continue
		}
		where := p.Location
		if where == "" {
			where = "(server)"
		}
		to := p.Address
		if p.Upstream != "" {
			to = "upstream " + p.Upstream
		}
		ev.add(fmt.Sprintf("%s: location %s → %s %s", p.At, where, p.Directive, orDash(to, p.Value)))
	}
	for _, u := range s.Config.Upstreams {
		for _, sv := range u.Servers {
			if !ev.room() {
				ev.skip()
				continue
			}
			ev.add(fmt.Sprintf("%s: upstream %s server %s%s", sv.At, u.Name, sv.Address, serverFlags(sv)))
		}
	}
	r.Evidence = ev.lines()
	if len(s.Config.Passes) == 0 {
		r.Status, r.Summary = Warn, "No *_pass directive found: this nginx proxies nothing."
		return r
	}
	r.Status, r.Summary = Pass, fmt.Sprintf("%s lead to %s.", count(len(s.Config.Passes), "pass", "passes"), count(len(s.Targets), "target", "targets"))
	return r
}

func checkResolver(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{s.nginxGrep("-n resolver")}}
	missing := 0
	for _, p := range s.Config.Passes {
		if !p.Variables {
			continue
		}
		if d, ok := p.Settings.Get("resolver"); ok {
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s %s uses resolver %s (%s)", p.At, p.Directive, p.Value, strings.Join(d.Args, " "), d.At))
			continue
		}
		missing++
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s %s has variables and no resolver in force", p.At, p.Directive, p.Value))
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No *_pass uses variables."
	case missing > 0:
		r.Status, r.Summary = Warn, fmt.Sprintf("%s with variables no resolver: fine if the variable names an upstream block, a 502 if it names a host.", count(missing, "pass has", "passes have"))
	default:
		r.Status, r.Summary = Pass, "Every pass with variables has a resolver."
	}
	return r
}

// ---- step 3

func checkFirewall(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{"iptables -S", "nft list ruleset", "ufw status", "firewall-cmd --list-all"}}
	if len(s.Firewall.Tools) == 0 {
		r.Status, r.Summary = Skip, "No firewall tool answered."
		if !s.Root {
			r.Summary = "Firewall rules can only be read as root; run with sudo."
		}
		if s.Firewall.Note != "" {
			r.Evidence = append(r.Evidence, s.Firewall.Note)
		}
		return r
	}
	hits := 0
	for _, t := range s.Targets {
		if t.Network != "tcp" || t.Dynamic {
			continue
		}
		if rule, ok := s.firewallRule(t); ok {
			hits++
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s %s", t.Address, rule.Tool, rule.Text))
		}
	}
	if hits > 0 {
		r.Status, r.Summary = Fail, fmt.Sprintf("%s reject or drop traffic to a backend.", count(hits, "firewall rule", "firewall rules"))
		return r
	}
	r.Status, r.Summary = Pass, fmt.Sprintf("No %s rule blocks a backend.", strings.Join(s.Firewall.Tools, "/"))
	return r
}

func checkSELinux(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{"getenforce", "getsebool httpd_can_network_connect", "ausearch -m avc -ts recent"}}
	se := s.SELinux
	if !se.Available {
		r.Status, r.Summary = Skip, "SELinux is not in use here."
		if se.Note != "" {
			r.Summary += " " + se.Note
		}
		return r
	}
	r.Evidence = append(r.Evidence, "mode: "+se.Mode, "httpd_can_network_connect: "+onOff(se.NetworkConnect))
	r.Evidence = append(r.Evidence, firstN(se.Denials, 3)...)
	tcp := false
	for _, t := range s.Targets {
		tcp = tcp || t.Network == "tcp"
	}
	switch {
	case se.Mode == "enforcing" && tcp && !se.NetworkConnect:
		r.Status, r.Summary = Fail, "SELinux enforces and httpd_can_network_connect is off: nginx may not connect to TCP backends."
	case len(se.Denials) > 0:
		r.Status, r.Summary = Warn, fmt.Sprintf("%d recent AVC denials name nginx.", len(se.Denials))
	default:
		r.Status, r.Summary = Pass, "SELinux is "+se.Mode+" and lets nginx connect."
	}
	return r
}

func checkDNS(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		if t.Network != "tcp" || isIP(t.Host) {
			return nil
		}
		return []string{"getent hosts " + t.Host}
	}, "cat /etc/resolv.conf")}
	bad := 0
	for _, t := range s.Targets {
		if t.Network != "tcp" || t.Dynamic || isIP(t.Host) {
			continue
		}
		p := s.Probes[t.Address]
		if p.Status == probe.DNSError {
			bad++
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s", t.Host, p.Error))
			continue
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s → %s", t.Host, strings.Join(p.Resolved, ", ")))
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "Every backend is an IP address or a socket: no DNS involved."
	case bad > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%s not resolve.", count(bad, "backend host name does", "backend host names do"))
	default:
		r.Status, r.Summary = Pass, "Every backend host name resolves."
	}
	return r
}

// ---- step 4

func checkTimeouts(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		if t.Network == "unix" || t.Kind != "http" {
			return nil
		}
		return []string{"curl -o /dev/null -s -w '%{time_starttransfer}\\n' http://" + t.Address + "/"}
	}, s.nginxGrep("-n _timeout"))}
	slow := 0
	var ev evidence
	for _, t := range s.Targets {
		h := s.Probes[t.Address].HTTP
		for _, pi := range t.Passes {
			pass := s.Config.Passes[pi]
			name, limit, at := readTimeout(pass)
			isSlow := h != nil && h.TTFB > 0 && limit > 0 && h.TTFB > limit
			if isSlow {
				slow++
			}
			// The slow ones are what the step is about: past the cap they
			// take the place of the others.
			if !ev.room() && !isSlow {
				ev.skip()
				continue
			}
			line := fmt.Sprintf("%s → %s: %s %s (%s)", pass.At, t.Address, name, limit, atOrDefault(at))
			if h != nil && h.TTFB > 0 {
				line += fmt.Sprintf("; first byte after %s", msText(h.TTFB))
			}
			ev.addFailing(line, isSlow)
		}
	}
	r.Evidence = ev.lines()
	n := s.countClass(logs.Timeout)
	if n > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("error log: %d \"upstream timed out\" lines in the window", n))
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No backend to time."
	case slow > 0 || n > 0:
		r.Status, r.Summary = Fail, "Backends answer slower than the timeouts in force."
	default:
		r.Status, r.Summary = Pass, "Backends answer within the timeouts in force."
	}
	return r
}

func checkBuffers(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		if t.Network == "unix" || t.Kind != "http" {
			return nil
		}
		return []string{"curl -s -o /dev/null -D - http://" + t.Address + "/ | wc -c"}
	}, s.nginxGrep("-n buffer_size"))}
	big := 0
	var ev evidence
	for _, t := range s.Targets {
		h := s.Probes[t.Address].HTTP
		for _, pi := range t.Passes {
			pass := s.Config.Passes[pi]
			name, size, at := bufferSize(pass)
			isBig := h != nil && h.HeaderBytes > 0 && int64(h.HeaderBytes) > size
			if isBig {
				big++
			}
			if !ev.room() && !isBig {
				ev.skip()
				continue
			}
			line := fmt.Sprintf("%s → %s: %s %s (%s)", pass.At, t.Address, name, humanSize(size), atOrDefault(at))
			if h != nil && h.HeaderBytes > 0 {
				line += fmt.Sprintf("; response header %d bytes", h.HeaderBytes)
			}
			ev.addFailing(line, isBig)
		}
	}
	r.Evidence = ev.lines()
	n := s.countClass(logs.HeaderTooBig)
	if n > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("error log: %d \"upstream sent too big header\" lines in the window", n))
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No backend to measure."
	case big > 0 || n > 0:
		r.Status, r.Summary = Fail, "A response header does not fit the buffer nginx reads it into."
	default:
		r.Status, r.Summary = Pass, "Response headers fit their buffers."
	}
	return r
}

// ---- step 5

func checkService(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{"journalctl -k -g 'Out of memory'"}}
	for _, addr := range sortedKeys(s.Units) {
		u := s.Units[addr].Name
		r.Manual = append([]string{"systemctl status " + shellWord(u), "journalctl -u " + shellWord(u) + " -n 50"}, r.Manual...)
	}
	bad := 0
	keys := sortedKeys(s.Units)
	for _, addr := range keys {
		u := s.Units[addr]
		line := fmt.Sprintf("%s: %s is %s", addr, u.Name, u.Active)
		if u.Restarts > 0 {
			line += fmt.Sprintf(", restarted %d times", u.Restarts)
		}
		r.Evidence = append(r.Evidence, line)
		r.Evidence = append(r.Evidence, firstN(u.OOMKills, 2)...)
		if u.Active != "active" || len(u.OOMKills) > 0 || u.Restarts > 2 {
			bad++
		}
	}
	if len(keys) == 0 {
		for _, t := range s.Targets {
			if l, ok := listenerFor(s.Listeners, t); ok {
				r.Evidence = append(r.Evidence, fmt.Sprintf("%s: served by %s, no systemd unit found", t.Address, who(l)))
			}
		}
	}
	// The process table and the host's memory say what systemd would:
	// a backend that started during the incident, a host short of memory.
	procs, restarted := backendProcesses(s)
	mem, short := hostMemory(s)
	r.Evidence = append(append(r.Evidence, procs...), mem...)
	var why []string
	if bad > 0 {
		why = append(why, count(bad, "backend service", "backend services")+" restarted, failed or were OOM-killed")
	}
	if restarted > 0 {
		why = append(why, count(restarted, "backend process", "backend processes")+" started during the incident")
	}
	if short != "" {
		why = append(why, "the host is short of memory ("+short+")")
	}
	switch {
	case len(why) > 0:
		r.Status, r.Summary = Warn, upperFirst(strings.Join(why, "; "))+"."
	case len(keys) == 0:
		r.Status, r.Summary = Skip, "No backend runs under systemd here (or systemd is not running)."
	default:
		r.Status, r.Summary = Pass, "Backend services are active and stable."
	}
	return r
}

func checkResponses(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		switch {
		case t.Kind == "fastcgi":
			return []string{"cgi-fcgi -bind -connect " + strings.TrimPrefix(t.Address, "unix:")}
		case t.Network == "unix":
			return []string{"curl -sv --unix-socket " + t.Path + " http://localhost/"}
		}
		return []string{"curl -sv http://" + t.Address + "/"}
	})}
	bad, slow, own := 0, 0, 0
	for _, t := range s.Targets {
		h := s.Probes[t.Address].HTTP
		if h == nil {
			continue
		}
		r.Evidence = append(r.Evidence, probeLine(t, s.Probes[t.Address]))
		switch {
		case h.Class == "timeout":
			slow++
		case h.Class != "":
			bad++
		case h.Status >= 500:
			own++
		}
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No backend accepted a request to ask."
	case bad > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%s but give no valid answer.", count(bad, "backend accepts", "backends accept"))
	case own > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%s a 5xx of its own.", count(own, "backend answers", "backends answer"))
	case slow > 0:
		r.Status, r.Summary = Warn, fmt.Sprintf("%s but did not answer within %s.", count(slow, "backend accepts", "backends accept"), s.Options.timeout())
	default:
		r.Status, r.Summary = Pass, "Backends that accept also answer."
	}
	return r
}

// ---- step 6

func checkSockets(_ context.Context, s *Snapshot) Result {
	user := orDash(s.WorkerUser.Name, "www-data")
	r := Result{Manual: byHand(s, func(t nginx.Target) []string {
		if t.Network != "unix" {
			return nil
		}
		p := shellWord(t.Path)
		return []string{"ls -la " + p, "namei -l " + p, "sudo -u " + shellWord(user) + " test -w " + p + " && echo ok"}
	})}
	bad := 0
	for _, t := range s.Targets {
		if t.Network != "unix" || t.Dynamic {
			continue
		}
		so := s.Sockets[t.Path]
		switch {
		case so.Err != "":
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s", t.Path, so.Err))
		case !so.Exists:
			bad++
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: does not exist", t.Path))
		case !so.IsSocket:
			bad++
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: a %s, not a socket", t.Path, fileKind(so.Info)))
		case !so.WorkerMay:
			bad++
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s may not connect: %s", t.Path, s.WorkerUser.Name, so.Reason))
		default:
			r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %s:%s %04o; %s may connect", t.Path, so.Owner, so.Group, so.Info.Mode.Perm(), s.WorkerUser.Name))
		}
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No backend is reached through a unix socket."
	case bad > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%s missing or closed to the workers (%s).", count(bad, "socket is", "sockets are"), s.WorkerUser.Name)
	default:
		r.Status, r.Summary = Pass, fmt.Sprintf("The workers (%s) may use every socket.", s.WorkerUser.Name)
	}
	return r
}

// ---- step 7

func checkGroups(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{s.nginxGrep("-A10 '^\\s*upstream'")}}
	used := map[string]bool{}
	for _, t := range s.Targets {
		used[t.Upstream] = true
	}
	var dead []string
	for _, u := range s.Config.Upstreams {
		if !used[u.Name] {
			continue
		}
		up := 0
		for _, sv := range u.Servers {
			if p := s.Probes[targetAddress(s, u.Name, sv)]; p.Status == probe.Connected {
				up++
			}
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s: upstream %s: %d of %d servers accept", u.At, u.Name, up, len(u.Servers)))
		if up == 0 {
			dead = append(dead, u.Name)
		}
	}
	n := s.countClass(logs.NoLiveUpstreams)
	if n > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("error log: %d \"no live upstreams\" lines in the window", n))
	}
	if d := s.countClass(logs.ServerDisabled); d > 0 {
		r.Evidence = append(r.Evidence, fmt.Sprintf("error log: %d servers marked failed (max_fails reached)", d))
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No upstream block is in use."
	case len(dead) > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("No server of upstream %s accepts connections.", strings.Join(dead, ", "))
	case n > 0:
		r.Status, r.Summary = Fail, "nginx found no live server in an upstream group."
	default:
		r.Status, r.Summary = Pass, "Every upstream group has a server that accepts."
	}
	return r
}

func checkQueues(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{"ss -ltn   # Recv-Q = waiting connections, Send-Q = backlog"}}
	full := 0
	for _, t := range s.Targets {
		l, ok := listenerFor(s.Listeners, t)
		if !ok || l.Backlog == 0 {
			continue
		}
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s: accept queue %d of %d", t.Address, l.Queue, l.Backlog))
		if l.Queue >= l.Backlog {
			full++
		}
	}
	switch {
	case len(r.Evidence) == 0:
		r.Status, r.Summary = Skip, "No accept-queue figures for the backends' listeners."
	case full > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%s a full accept queue: new connections wait or time out.", count(full, "backend has", "backends have"))
	default:
		r.Status, r.Summary = Pass, "No backend's accept queue is full."
	}
	return r
}

// ---- step 8

func checkErrorLog(_ context.Context, s *Snapshot) Result {
	r := Result{}
	for _, p := range s.errorLogPaths() {
		r.Manual = append(r.Manual, "tail -n 100 "+shellWord(p), "grep -c upstream "+shellWord(p))
	}
	counts := map[string]int{}
	lines := 0
	for _, l := range s.ErrorLogs {
		lines += l.LinesRead
		for _, n := range s.windowCounts(l) {
			if n.Class == logs.Other || n.Class == logs.ClientClosed || n.Class == logs.FastCGIStderr {
				continue
			}
			counts[fmt.Sprintf("%s %s", n.Class, orDash(n.Target, "-"))] += n.Lines
		}
	}
	for _, k := range sortedKeys(counts) {
		r.Evidence = append(r.Evidence, fmt.Sprintf("%5d × %s", counts[k], k))
	}
	r.Evidence = append(r.Evidence, s.LogErrors...)
	window := "the last " + s.windowText()
	switch {
	case len(s.ErrorLogs) == 0:
		r.Status, r.Summary = Warn, "No error log could be read: "+strings.Join(s.LogErrors, "; ")
	case len(counts) > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%d upstream error lines in %s (%d lines read).", sum(counts), window, lines)
	default:
		r.Status, r.Summary = Pass, fmt.Sprintf("No upstream errors in %s (%d lines read).", window, lines)
	}
	return r
}

func checkAccessLog(_ context.Context, s *Snapshot) Result {
	r := Result{}
	bad, total := 0, 0
	for _, l := range s.Access {
		r.Manual = append(r.Manual, "awk '$9 ~ /^50[234]$/' "+shellWord(l.Path)+" | tail")
		total += l.Requests
		n := l.Status[502] + l.Status[503] + l.Status[504]
		bad += n
		r.Evidence = append(r.Evidence, fmt.Sprintf("%s: %d requests, 502: %d, 503: %d, 504: %d", l.Path, l.Requests, l.Status[502], l.Status[503], l.Status[504]))
	}
	switch {
	case len(s.Access) == 0:
		r.Status, r.Summary = Skip, "No access log to count."
	case bad > 0:
		r.Status, r.Summary = Fail, fmt.Sprintf("%d of %d requests in the window got 502/503/504.", bad, total)
	default:
		r.Status, r.Summary = Pass, fmt.Sprintf("No 502/503/504 among %d requests in the window.", total)
	}
	return r
}

func checkLogFormat(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{s.nginxGrep("-n log_format")}}
	for name, d := range s.Config.LogFormats {
		if strings.Contains(strings.Join(d.Args, " "), "$upstream_addr") {
			r.Status, r.Summary = Pass, fmt.Sprintf("log_format %s (%s) records the upstream address.", name, d.At)
			return r
		}
	}
	r.Status, r.Summary = Warn, "No log_format records $upstream_addr, $upstream_status and $upstream_response_time: add one to see which backend answered what."
	return r
}

// ---- step 9

func checkThroughNginx(_ context.Context, s *Snapshot) Result {
	r := Result{}
	switch {
	case !s.Install.Running:
		r.Status, r.Summary = Fail, "nginx is not running: nothing to ask."
		return r
	case s.Options.NoReplay:
		r.Status, r.Summary = Skip, "No request through nginx was made (--no-replay)."
		// What ngxdoctor would have asked, for a person to ask.
		for _, sv := range s.Config.Servers {
			if addr := localListen(sv); addr != "" {
				r.Manual = append(r.Manual, "curl -sv -H "+quoted("Host: "+orDash(serverHost(sv), "localhost"))+" "+quoted("http://"+addr+"/"))
				break
			}
		}
		return r
	case len(s.Replays) == 0:
		r.Status, r.Summary = Skip, "No server listens on a local address this host can ask."
		return r
	}
	bad, cut := 0, 0
	for _, q := range s.Replays {
		line := fmt.Sprintf("%s http://%s%s Host: %s → %s", q.Method, q.Addr, q.Path, q.Host, q.Answer())
		if q.From != "location" {
			line += " (a failing request of the " + q.From + ")"
		}
		if q.Failed() {
			bad++
		}
		if q.Cut {
			cut++
		}
		r.Evidence = append(r.Evidence, line)
		for _, e := range firstN(rawLines(q.Lines), 2) {
			r.Evidence = append(r.Evidence, "  error.log: "+e)
		}
		head := ""
		if q.Method == "HEAD" {
			head = "-I "
		}
		r.Manual = append(r.Manual, "curl -sv "+head+"-H "+quoted("Host: "+q.Host)+" "+quoted("http://"+q.Addr+q.Path))
	}
	if bad > 0 {
		r.Status, r.Summary = Fail, fmt.Sprintf("%d of %s through nginx failed.", bad, count(len(s.Replays), "request", "requests"))
		return r
	}
	if cut > 0 {
		r.Status, r.Summary = Warn, fmt.Sprintf("%d of %s through nginx gave no answer before ngxdoctor stopped waiting: slow, or hung; not known to fail.", cut, count(len(s.Replays), "request", "requests"))
		return r
	}
	r.Status, r.Summary = Pass, fmt.Sprintf("%s through nginx without a gateway error.", count(len(s.Replays), "request answers", "requests answer"))
	return r
}

func rawLines(es []logs.Entry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		out = append(out, e.Raw)
	}
	return out
}

// localListen turns a listen argument into an address this host can dial.
func localListen(sv nginx.Server) string {
	for _, l := range sv.Listen {
		if strings.HasPrefix(l, "unix:") {
			continue
		}
		host, port := "127.0.0.1", l
		if i := strings.LastIndex(l, ":"); i >= 0 {
			host, port = strings.Trim(l[:i], "[]"), l[i+1:]
		}
		if _, err := strconv.Atoi(port); err != nil {
			host, port = l, "80" // "listen localhost;"
		}
		switch host {
		case "*", "0.0.0.0", "":
			host = "127.0.0.1"
		case "::":
			host = "::1"
		}
		if !isLoopback(host) && host != "localhost" {
			continue // another interface: asking it from here proves little
		}
		if strings.Contains(host, ":") {
			return "[" + host + "]:" + port
		}
		return host + ":" + port
	}
	return ""
}

// prefixPath gives a path a prefix or exact location matches; regex
// locations have none we can guess.
func prefixPath(loc string) string {
	f := strings.Fields(loc)
	switch {
	case len(f) == 1:
		return f[0]
	case len(f) == 2 && (f[0] == "=" || f[0] == "^~"):
		return f[1]
	}
	return ""
}

// ---- step 10

func checkMonitoring(_ context.Context, s *Snapshot) Result {
	r := Result{Manual: []string{"systemctl list-timers | grep ngxdoctor"}}
	if u := s.stubStatusURL(); u != "" {
		r.Manual = append([]string{"curl -s " + shellWord(u)}, r.Manual...)
	}
	for _, p := range s.Config.StubStatus {
		r.Evidence = append(r.Evidence, "stub_status at "+p.String())
	}
	timer := false
	for _, p := range []string{"/etc/systemd/system/ngxdoctor-check.timer", "/etc/cron.d/ngxdoctor"} {
		if _, err := s.Sys.Lstat(p); err == nil {
			timer = true
			r.Evidence = append(r.Evidence, "periodic check: "+p)
		}
	}
	switch {
	case len(s.Config.StubStatus) > 0 && timer:
		r.Status, r.Summary = Pass, "stub_status and a periodic upstream check are in place."
	default:
		var miss []string
		if len(s.Config.StubStatus) == 0 {
			miss = append(miss, "no stub_status")
		}
		if !timer {
			miss = append(miss, "no periodic check of the backends")
		}
		r.Status, r.Summary = Warn, "Advice: "+strings.Join(miss, " and ")+"; the next 502 will be found by users first."
	}
	return r
}

// ---- helpers

func (s *Snapshot) countClass(c logs.Class) int {
	n := 0
	for _, l := range s.ErrorLogs {
		for _, k := range s.windowCounts(l) {
			if k.Class == c {
				n += k.Lines
			}
		}
	}
	return n
}

func (s *Snapshot) windowText() string {
	if s.Since.IsZero() {
		return "whole log"
	}
	if s.Options.Since > 0 {
		return durText(s.Options.Since)
	}
	return durText(DefaultWindow)
}

func targetAddress(s *Snapshot, group string, sv nginx.UpstreamServer) string {
	for _, t := range s.Targets {
		if t.Upstream == group && t.Server != nil && t.Server.At == sv.At {
			return t.Address
		}
	}
	return sv.Address
}

func serverFlags(sv nginx.UpstreamServer) string {
	var f []string
	if sv.Weight != 1 && sv.Weight != 0 {
		f = append(f, fmt.Sprintf("weight=%d", sv.Weight))
	}
	f = append(f, fmt.Sprintf("max_fails=%d fail_timeout=%s", sv.MaxFails, sv.FailTimeout))
	if sv.Backup {
		f = append(f, "backup")
	}
	if sv.Down {
		f = append(f, "down")
	}
	return " (" + strings.Join(f, " ") + ")"
}

func isIP(h string) bool { return net.ParseIP(h) != nil }

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// durText writes a duration as a person would: 15m, 2h, 1h30m, 45s.
func durText(d time.Duration) string {
	d = d.Round(time.Second)
	out := d.String()
	out = strings.Replace(out, "m0s", "m", 1)
	out = strings.Replace(out, "h0m", "h", 1)
	return out
}

// count writes "1 backend" or "3 backends".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// all writes the sentence for one item, or "All N ..." for several.
func all(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return fmt.Sprintf("All %d %s", n, many)
}

// byHand lists the commands a person would type for the same answer, with
// the real addresses and paths of up to three backends filled in, after
// the general ones.
// MaxEvidence is how many lines a check with a line per (pass, target)
// lists (config.targets, timeouts.read, buffers.header); the rest are
// counted in a last line. A config of 50,000 server blocks has 150,000 such
// pairs: no person reads them, and the JSON's targets list every target's
// references anyway. Checks with a line per target list them all (the
// wizard's filter finds any one).
const MaxEvidence = 1000

// evidence collects a check's lines up to MaxEvidence, in order, and
// counts the rest. Past the cap a line that shows the failure (failing)
// takes the place of the last one that does not.
type evidence struct {
	out     []string
	failing []bool
	more    int
}

// room: another line would be listed. A caller that does not format a
// line for lack of room calls skip, so that it is counted.
func (e *evidence) room() bool { return len(e.out) < MaxEvidence }

func (e *evidence) skip() { e.more++ }

func (e *evidence) add(line string) { e.addFailing(line, false) }

func (e *evidence) addFailing(line string, failing bool) {
	if !e.room() {
		i := len(e.failing) - 1
		for i >= 0 && e.failing[i] {
			i--
		}
		if !failing || i < 0 {
			e.more++
			return
		}
		e.out = append(e.out[:i], e.out[i+1:]...)
		e.failing = append(e.failing[:i], e.failing[i+1:]...)
		e.more++
	}
	e.out = append(e.out, line)
	e.failing = append(e.failing, failing)
}

func (e *evidence) lines() []string {
	if e.more > 0 {
		return append(e.out, moreLines(e.more))
	}
	return e.out
}

func moreLines(n int) string {
	return fmt.Sprintf("… and %d more lines like these (check --format json lists every target with its references under \"targets\")", n)
}

func byHand(s *Snapshot, each func(nginx.Target) []string, general ...string) []string {
	out := append([]string(nil), general...)
	n := 0
	for _, t := range s.Targets {
		if t.Dynamic || n == 3 {
			continue
		}
		if cmds := each(t); len(cmds) > 0 {
			out = append(out, cmds...)
			n++
		}
	}
	return out
}
