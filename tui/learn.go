package tui

import (
	"path/filepath"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// The commands a trainee may paste come built from this machine's facts
// in each check's Manual (checks/commands.go), with the programs this host
// lacks in NotInstalled; the wizard only renders them.

// toolOf is the program a command line runs first.
func toolOf(c string) string {
	if p := checks.ProgramsOf(c); len(p) > 0 {
		return p[0]
	}
	return ""
}

// toolNote says when a command's programs are not installed here.
func toolNote(c string, missing []string) string {
	var out []string
	for _, p := range checks.ProgramsOf(c) {
		if slices.Contains(missing, filepath.Base(p)) && !slices.Contains(out, filepath.Base(p)) {
			out = append(out, filepath.Base(p))
		}
	}
	switch len(out) {
	case 0:
		return ""
	case 1:
		return out[0] + " is not installed here"
	}
	return strings.Join(out, ", ") + " are not installed here"
}

// lookFor says what to look for in a command's output.
func lookFor(c string) string {
	t := toolOf(c)
	switch {
	case strings.Contains(c, "nginx -t"):
		return "\"syntax is ok\" and \"test is successful\"; anything else names the file:line to fix first."
	case strings.Contains(c, "nginx -T") && strings.Contains(c, "resolver"):
		return "a resolver line in the http or server block of every proxy_pass that uses a variable."
	case strings.Contains(c, "nginx -T") && strings.Contains(c, "log_format"):
		return "$upstream_addr, $upstream_status and $upstream_response_time in the format the access_log uses."
	case strings.Contains(c, "nginx -T"):
		return "every upstream server and *_pass address: each one must be where a backend listens."
	case t == "ss":
		return "the backend's address in the Local column; Recv-Q near Send-Q means the listen queue is full."
	case t == "curl" && strings.Contains(c, "status"):
		return "Active connections and the reading/writing/waiting counts; a refused connection means stub_status is not where this says."
	case t == "curl":
		return "the status line (HTTP/1.1 502 is the failure) and the error-log line written at the same second."
	case t == "tail":
		return "\"upstream\" lines: the errno in parentheses (111 refused, 13 permission, 110 timeout) and the upstream: address."
	case t == "grep" && strings.Contains(c, "-c"):
		return "the count: it rising between two runs means the failure goes on now."
	case t == "awk":
		return "which paths and times answer 502/503/504."
	case t == "iptables", t == "nft":
		return "a REJECT or DROP rule that matches the backend's port on lo or its interface."
	case t == "ufw", t == "firewall-cmd":
		return "a deny for the backend's port."
	case t == "getenforce":
		return "Enforcing; then getsebool httpd_can_network_connect must be on for TCP backends."
	case t == "getsebool":
		return "httpd_can_network_connect --> on."
	case t == "ausearch":
		return "avc: denied { name_connect } for comm=\"nginx\"."
	case t == "ls" || t == "stat":
		return "the socket's owner, group and mode: the worker user needs write permission on it and search (x) on every directory."
	case t == "systemctl":
		return "Active: active (running); failed or activating (auto-restart) means the backend crashes."
	case t == "journalctl":
		return "the backend's last lines before it stopped: a stack trace, an OOM kill, a port already in use."
	case t == "test":
		return "ok: the worker user may connect; nothing printed means it may not."
	}
	return ""
}

// byHandText says how to fix each cause without the wizard.
var byHandText = map[string]string{
	"backend-down":       "Start the backend (systemctl start UNIT), then check it listens where proxy_pass points (ss -ltnp). If it crashes at start, its journal says why.",
	"wrong-address":      "Point proxy_pass or the upstream server line at the address the backend really listens on (or make the backend listen where nginx expects), then nginx -t and nginx -s reload.",
	"socket-missing":     "Start the backend that creates the socket, or correct the path in fastcgi_pass/proxy_pass to the socket it creates; nginx -t; nginx -s reload.",
	"socket-permission":  "Give the worker user access: set listen.owner/listen.group/listen.mode in the php-fpm pool (or the app's umask) so the socket is group-writable by the worker's group, and make every directory on the path searchable; restart the backend.",
	"selinux-denied":     "setsebool -P httpd_can_network_connect 1 (or label the port: semanage port -a -t http_port_t -p tcp PORT).",
	"firewall-blocked":   "Delete the rule that rejects or drops traffic to the backend's port (iptables -D ... or nft delete rule ...), and fix the rule set that reinstalls it at boot.",
	"upstream-timeout":   "Find why the backend is slow first; if the slowness is expected, raise proxy_read_timeout (or fastcgi_read_timeout) in the location, nginx -t, nginx -s reload.",
	"header-too-big":     "Raise proxy_buffer_size (and proxy_buffers) in the location to fit the header, or make the backend send smaller headers (cookies); nginx -t; nginx -s reload.",
	"upstream-closed":    "Read the backend's own log for a crash or a killed worker at the same second; raise its limits or fix the crash.",
	"upstream-reset":     "Read the backend's log: a reset comes from a crash, a full accept queue or a proxy in between.",
	"invalid-response":   "Make nginx speak the backend's protocol: proxy_pass for HTTP, fastcgi_pass for php-fpm, uwsgi_pass for uWSGI, https:// for TLS backends.",
	"tls-handshake":      "Use http:// for a plain backend, or set proxy_ssl_server_name on and proxy_ssl_name for SNI, and check the certificate.",
	"dns-failure":        "Fix the name (or /etc/hosts, or the DNS server); nginx resolves names in proxy_pass at start and reload.",
	"no-resolver":        "Add resolver 127.0.0.53 (or your DNS server) valid=30s; to the http block when proxy_pass uses a variable.",
	"backend-overloaded": "Give the backend more workers (pm.max_children for php-fpm), a longer listen backlog, or less traffic; then watch ss -ltn's Recv-Q.",
	"no-live-upstreams":  "Fix the cause that marked the servers failed (see the other causes); nginx retries them after fail_timeout.",
	"nginx-resources":    "Raise worker_connections, worker_rlimit_nofile (and LimitNOFILE in the unit) or widen net.ipv4.ip_local_port_range; nginx -t; nginx -s reload.",
	"config-invalid":     "Run nginx -t -c CONFIG, fix the file:line it names, run it again until it passes, then reload.",
	"config-not-loaded":  "nginx -t -c CONFIG, then nginx -s reload (or systemctl reload nginx); check the error log for the reload's own errors.",
	"nginx-not-running":  "systemctl start nginx; if it fails, nginx -t and journalctl -u nginx say why.",
	"backend-error":      "nginx only passes the backend's own 5xx on: read the application's log for the request's time.",
}

// byHand writes, in the learn view, how to fix each of the step's causes by hand.
func (m *Model) byHand(b *textBuilder, step int) {
	s := m.styles
	seen := map[string]bool{}
	for _, ci := range m.causesOfStep(step) {
		id := string(m.outcome.Causes[ci].ID)
		if seen[id] {
			continue
		}
		seen[id] = true
		if t := byHandText[id]; t != "" {
			if cfg := m.outcome.Snapshot; cfg != nil && cfg.Install.Config != "" {
				t = strings.ReplaceAll(t, "CONFIG", cfg.Install.Config)
			}
			b.raw(s.Heading.Render("To fix " + id + " by hand:"))
			b.add("  ", t, "  ")
			b.blank()
		}
	}
}

// clipboardMsg asks the terminal to copy a command (OSC 52, which works
// over SSH and inside tmux).
type clipboardMsg struct{ text string }

func (m *Model) copyCommand() tea.Cmd {
	if len(m.cmds) == 0 {
		m.setStatus("no command in this view to copy (l shows the commands to run by hand)", false)
		return nil
	}
	i := m.cmdSel
	if i < 0 {
		i = len(m.cmds) - 1 // all are above the view: the last one
	}
	text := m.cmds[i].text
	return func() tea.Msg { return clipboardMsg{text: text} }
}
