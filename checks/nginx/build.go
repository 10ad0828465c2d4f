package nginx

import (
	"context"
	"maps"
	"net"
	"strconv"
	"strings"
)

// DefaultErrorLog is the error log of Debian's and RHEL's packages when the
// config names none; discovery's --error-log-path is more exact when known.
const DefaultErrorLog = "/var/log/nginx/error.log"

// passModules are the directives that hand a request to a backend.
var passModules = map[string]string{
	"proxy_pass":     "proxy",
	"fastcgi_pass":   "fastcgi",
	"uwsgi_pass":     "uwsgi",
	"scgi_pass":      "scgi",
	"grpc_pass":      "grpc",
	"memcached_pass": "memcached",
}

var settingPrefixes = []string{"proxy_", "fastcgi_", "uwsgi_", "scgi_", "grpc_", "memcached_"}

var settingNames = map[string]bool{
	"resolver":            true,
	"resolver_timeout":    true,
	"error_log":           true,
	"access_log":          true,
	"client_body_timeout": true,
	"keepalive_timeout":   true,
}

// tracked reports whether a directive belongs in Pass.Settings.
func tracked(name string) bool {
	if settingNames[name] {
		return true
	}
	if _, ok := passModules[name]; ok {
		return false
	}
	for _, p := range settingPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func directive(n *node) Directive {
	return Directive{Name: n.name, Args: n.args, At: n.at}
}

// inherit applies one level's own directives over what it inherited: a
// level that sets a directive at all replaces every inherited occurrence.
func inherit(parent Settings, block []*node) Settings {
	var own Settings
	for _, n := range block {
		if n.isBlock || !tracked(n.name) {
			continue
		}
		if own == nil {
			own = Settings{}
		}
		own[n.name] = append(own[n.name], directive(n))
	}
	if own == nil {
		return parent
	}
	s := make(Settings, len(parent)+len(own))
	maps.Copy(s, parent)
	maps.Copy(s, own)
	return s
}

type builder struct {
	ctx        context.Context
	noSettings Settings
	c          *Config
	upstreams  map[string]int // lower-cased name → index in c.Upstreams
	errLogs    map[string]bool
	accLogs    map[string]bool
}

// build fills c from the tree. It checks ctx once per server block, so a
// cancelled run on 50,000 of them stops at once; then c is incomplete and
// the error says why.
func build(ctx context.Context, c *Config, nodes []*node) error {
	b := &builder{ctx: ctx, c: c, noSettings: Settings{}, upstreams: map[string]int{}, errLogs: map[string]bool{}, accLogs: map[string]bool{}}
	// Upstream blocks may follow the servers that use them.
	for _, n := range nodes {
		if n.name == "http" && n.isBlock {
			for _, u := range n.block {
				if u.name == "upstream" && u.isBlock && len(u.args) > 0 {
					b.upstream(u)
				}
			}
		}
	}
	for _, n := range nodes {
		switch n.name {
		case "user":
			if len(n.args) > 0 {
				c.User, c.UserAt = n.args[0], n.at
			}
		case "worker_processes":
			c.Workers = directive(n)
		case "worker_rlimit_nofile":
			c.RlimitNofile = directive(n)
		case "error_log":
			b.log(n)
		case "events":
			for _, e := range n.block {
				if e.name == "worker_connections" && len(e.args) > 0 {
					if v, err := strconv.Atoi(e.args[0]); err == nil && v > 0 {
						c.WorkerConnections = v
					}
				}
			}
		case "http":
			if n.isBlock {
				b.http(n)
			}
		}
	}
	if len(c.ErrorLogs) == 0 {
		c.ErrorLogs = append(c.ErrorLogs, LogFile{Path: DefaultErrorLog, Level: "error"})
	}
	return ctx.Err()
}

func (b *builder) log(n *node) {
	if len(n.args) == 0 {
		return
	}
	path := n.args[0]
	switch n.name {
	case "error_log":
		if b.errLogs[path] {
			return
		}
		b.errLogs[path] = true
		level := "error"
		if len(n.args) > 1 {
			level = n.args[1]
		}
		b.c.ErrorLogs = append(b.c.ErrorLogs, LogFile{Path: path, Level: level, At: n.at})
	case "access_log":
		if path == "off" || b.accLogs[path] {
			return
		}
		b.accLogs[path] = true
		format := "combined"
		if len(n.args) > 1 && !strings.Contains(n.args[1], "=") {
			format = n.args[1]
		}
		b.c.AccessLogs = append(b.c.AccessLogs, LogFile{Path: path, Format: format, At: n.at})
	}
}

func (b *builder) http(n *node) {
	s := inherit(nil, n.block)
	for _, d := range n.block {
		switch d.name {
		case "server":
			if b.ctx.Err() != nil {
				return
			}
			if d.isBlock {
				b.server(d, s)
			}
		case "log_format":
			if len(d.args) > 0 {
				if _, ok := b.c.LogFormats[d.args[0]]; !ok {
					b.c.LogFormats[d.args[0]] = directive(d)
				}
			}
		case "error_log", "access_log":
			b.log(d)
		}
	}
}

func (b *builder) upstream(n *node) {
	name := n.args[0]
	if _, dup := b.upstreams[strings.ToLower(name)]; dup {
		return
	}
	u := Upstream{Name: name, At: n.at}
	for _, d := range n.block {
		if d.name != "server" || d.isBlock {
			u.Directives = append(u.Directives, directive(d))
			continue
		}
		if len(d.args) == 0 {
			continue
		}
		u.Servers = append(u.Servers, upstreamServer(d))
	}
	b.upstreams[strings.ToLower(name)] = len(b.c.Upstreams)
	b.c.Upstreams = append(b.c.Upstreams, u)
}

func upstreamServer(d *node) UpstreamServer {
	s := UpstreamServer{Address: d.args[0], Weight: 1, MaxFails: 1, FailTimeout: "10s", At: d.at}
	for _, p := range d.args[1:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "weight":
			if n, err := strconv.Atoi(v); err == nil {
				s.Weight = n
			}
		case "max_fails":
			if n, err := strconv.Atoi(v); err == nil {
				s.MaxFails = n
			}
		case "fail_timeout":
			s.FailTimeout = v
		case "max_conns":
			if n, err := strconv.Atoi(v); err == nil {
				s.MaxConns = n
			}
		case "backup":
			s.Backup = true
		case "down":
			s.Down = true
		case "resolve":
			s.Resolve = true
		}
	}
	return s
}

func (b *builder) server(n *node, parent Settings) {
	idx := len(b.c.Servers)
	b.c.Servers = append(b.c.Servers, Server{At: n.at})
	s := inherit(parent, n.block)
	for _, d := range n.block {
		switch d.name {
		case "server_name":
			b.c.Servers[idx].Names = append(b.c.Servers[idx].Names, d.args...)
		case "listen":
			if len(d.args) > 0 {
				b.c.Servers[idx].Listen = append(b.c.Servers[idx].Listen, d.args[0])
				for _, a := range d.args[1:] {
					if a == "ssl" {
						b.c.Servers[idx].SSL = true
					}
				}
			}
		case "ssl":
			if len(d.args) > 0 && d.args[0] == "on" {
				b.c.Servers[idx].SSL = true
			}
		}
	}
	b.children(n.block, s, idx, "")
}

// children walks a server, location, if or limit_except body with the
// settings in force there.
func (b *builder) children(block []*node, s Settings, srv int, loc string) {
	for _, d := range block {
		switch {
		case d.name == "location" && d.isBlock:
			b.children(d.block, inherit(s, d.block), srv, strings.Join(d.args, " "))
		case (d.name == "if" || d.name == "limit_except") && d.isBlock:
			// Both create a nested location configuration inheriting from here.
			b.children(d.block, inherit(s, d.block), srv, loc)
		case d.name == "error_log" || d.name == "access_log":
			b.log(d)
		case d.name == "stub_status":
			b.c.StubStatus = append(b.c.StubStatus, d.at)
		default:
			if module, ok := passModules[d.name]; ok && len(d.args) > 0 {
				b.pass(d, module, s, srv, loc)
			}
		}
	}
}

func (b *builder) pass(d *node, module string, s Settings, srv int, loc string) {
	p := Pass{
		Directive: d.name,
		Value:     d.args[0],
		At:        d.at,
		Server:    srv,
		Location:  loc,
		Module:    module,
		// Shared, not copied: inherit makes a new map for every level that
		// sets something and nothing changes one after the build, so the
		// passes of one location can share theirs (a copy each cost
		// 650,000 maps on a 50 MB config).
		Settings:  s,
		Variables: strings.Contains(d.args[0], "$"),
	}
	if p.Settings == nil {
		p.Settings = b.noSettings
	}
	scheme, hostport, unix := splitPass(module, p.Value)
	p.Scheme = scheme
	switch {
	case unix != "":
		p.Address = unix
	case strings.Contains(hostport, "$") || hostport == "":
		// Resolved per request: nothing to name statically.
	default:
		if host, port, ok := splitHostPort(hostport); ok && port == "" {
			if i, found := b.upstreams[strings.ToLower(host)]; found {
				p.Upstream = b.c.Upstreams[i].Name
				break
			}
			if dp := defaultPort(scheme); dp != 0 {
				p.Address = net.JoinHostPort(host, strconv.Itoa(dp))
				break
			}
		}
		p.Address = hostport
	}
	b.c.Passes = append(b.c.Passes, p)
}

// splitPass takes a *_pass value apart: the scheme, the host[:port] part
// without any URI, or the socket address ("unix:/path") when it is one.
func splitPass(module, value string) (scheme, hostport, unix string) {
	rest := value
	lower := strings.ToLower(rest)
	prefixes := map[string][]string{
		"proxy": {"http", "https"},
		"grpc":  {"grpc", "grpcs"},
		"uwsgi": {"uwsgi", "suwsgi"},
	}[module]
	for _, sch := range prefixes {
		if strings.HasPrefix(lower, sch+"://") {
			rest = rest[len(sch)+3:]
			scheme = sch
			break
		}
	}
	switch module {
	case "grpc":
		if scheme == "" {
			scheme = "grpc"
		}
	case "uwsgi":
		// uwsgi:// and suwsgi:// name the protocol, not an HTTP scheme.
		scheme = ""
	}
	if strings.HasPrefix(strings.ToLower(rest), "unix:") {
		path := rest[len("unix:"):]
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[:i]
		}
		if strings.Contains(path, "$") {
			return scheme, path, ""
		}
		return scheme, "", "unix:" + path
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	return scheme, cutPathVariable(rest), ""
}

// pathVariables always start with "/", so the host ends where they begin:
// "http://127.0.0.1:3000$request_uri" still names a static host.
var pathVariables = []string{"$request_uri", "$uri", "$document_uri"}

func cutPathVariable(hostport string) string {
	for _, v := range pathVariables {
		i := strings.Index(hostport, v)
		if i < 0 {
			continue
		}
		end := i + len(v)
		if end < len(hostport) && isVarChar(hostport[end]) {
			continue
		}
		hostport = hostport[:i]
	}
	return hostport
}

func isVarChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http", "grpc":
		return 80
	case "https", "grpcs":
		return 443
	}
	return 0
}

// splitHostPort accepts "host", "host:port", "[v6]" and "[v6]:port";
// port is "" when none is written.
func splitHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := s[1:end], s[end+1:]
		if rest == "" {
			return host, "", true
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", false
		}
		return host, rest[1:], true
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if strings.IndexByte(s[:i], ':') >= 0 {
			// A bare IPv6 address without brackets.
			return s, "", true
		}
		return s[:i], s[i+1:], true
	}
	return s, "", true
}
