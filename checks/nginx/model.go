// Package nginx finds nginx on the host, reads its configuration (through
// nginx-go-crossplane, keeping file and line) and builds the target graph:
// every place nginx passes requests to, with the settings in force there.
package nginx

import "strconv"

// Pos is where a directive stands.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
}

// String is "file:line". Not through fmt: evidence formats one for every
// pass, 150,000 times on a config of 50,000 servers.
func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// Directive is one directive as written, with its position.
type Directive struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
	At   Pos      `json:"at"`
}

// Settings maps a directive name to the occurrences in force at a place,
// after nginx's inheritance (a level that sets a directive replaces what it
// inherited; multi-valued ones like error_log or access_log keep all lines
// of the innermost level that has any).
type Settings map[string][]Directive

// Get returns the first directive in force with that name.
func (s Settings) Get(name string) (Directive, bool) {
	d := s[name]
	if len(d) == 0 {
		return Directive{}, false
	}
	return d[0], true
}

// Config is the whole parsed configuration.
type Config struct {
	// Main is the main config file.
	Main string `json:"main"`
	// Files are all files read, main first.
	Files []string `json:"files"`
	// Bytes is the size of those files, what nginx -t reads too.
	Bytes int64 `json:"-"`
	// Errors are parse problems (file:line message); a config with errors
	// is still used as far as it was read.
	Errors []string `json:"errors,omitempty"`

	// User is the `user` directive's user (empty: nginx's compiled default).
	User    string    `json:"user,omitempty"`
	UserAt  Pos       `json:"user_at,omitempty"`
	Workers Directive `json:"worker_processes,omitempty"`
	// WorkerConnections is events/worker_connections (512 when unset).
	WorkerConnections int `json:"worker_connections"`
	// RlimitNofile is worker_rlimit_nofile (unset: the workers inherit the
	// master's open-files limit, i.e. the service's LimitNOFILE).
	RlimitNofile Directive `json:"worker_rlimit_nofile,omitempty"`
	// ErrorLogs and AccessLogs are every log named at any level, deduplicated by path.
	ErrorLogs  []LogFile `json:"error_logs"`
	AccessLogs []LogFile `json:"access_logs"`

	Upstreams []Upstream `json:"upstreams"`
	Servers   []Server   `json:"servers"`
	// Passes are every *_pass directive, in file order.
	Passes []Pass `json:"passes"`
	// StubStatus is where stub_status is enabled, if anywhere.
	StubStatus []Pos `json:"stub_status,omitempty"`
	// LogFormats are the log_format definitions, by name.
	LogFormats map[string]Directive `json:"log_formats,omitempty"`
	// HTTPIncludes are the include lines written directly in the main
	// file's http block (conf.d/*.conf on Debian), in file order.
	HTTPIncludes []Directive `json:"-"`
}

type LogFile struct {
	Path string `json:"path"`
	// Level for error logs (default "error"); Format for access logs (default "combined").
	Level  string `json:"level,omitempty"`
	Format string `json:"format,omitempty"`
	At     Pos    `json:"at"`
}

// Upstream is an upstream{} block.
type Upstream struct {
	Name    string           `json:"name"`
	At      Pos              `json:"at"`
	Servers []UpstreamServer `json:"servers"`
	// Directives are the block's other directives (keepalive, least_conn, zone, ...).
	Directives []Directive `json:"directives,omitempty"`
}

// UpstreamServer is one `server` line of an upstream block.
type UpstreamServer struct {
	// Address as written: "127.0.0.1:3000", "app.internal:8080", "unix:/run/app.sock".
	Address     string `json:"address"`
	Weight      int    `json:"weight"`       // default 1
	MaxFails    int    `json:"max_fails"`    // default 1
	FailTimeout string `json:"fail_timeout"` // default "10s"
	MaxConns    int    `json:"max_conns,omitempty"`
	Backup      bool   `json:"backup,omitempty"`
	Down        bool   `json:"down,omitempty"`
	Resolve     bool   `json:"resolve,omitempty"`
	At          Pos    `json:"at"`
}

// Server is a server{} block (a virtual host).
type Server struct {
	Names  []string `json:"names"`
	Listen []string `json:"listen"` // listen arguments' first word: "80", "127.0.0.1:8080", "[::]:443"
	SSL    bool     `json:"ssl,omitempty"`
	At     Pos      `json:"at"`
}

// Pass is one proxy_pass/fastcgi_pass/uwsgi_pass/scgi_pass/grpc_pass/memcached_pass.
type Pass struct {
	Directive string `json:"directive"` // "proxy_pass"
	Value     string `json:"value"`     // the argument as written
	At        Pos    `json:"at"`
	// Server is the index in Config.Servers of the enclosing server block (-1 if none).
	Server int `json:"server"`
	// Location is the enclosing location's argument(s), e.g. "/api/" or "~ \.php$"
	// (empty for a pass in `if` at server level).
	Location string `json:"location,omitempty"`
	// Module is the prefix of the directive family: "proxy", "fastcgi", "uwsgi", "scgi", "grpc", "memcached".
	Module string `json:"module"`
	// Scheme: "http", "https", "grpc", "grpcs", or "" for fastcgi/uwsgi/scgi/memcached.
	Scheme string `json:"scheme,omitempty"`
	// Upstream names the upstream block this pass points at, when it does.
	Upstream string `json:"upstream,omitempty"`
	// Address is the direct target when not an upstream: "127.0.0.1:3000", "host:80", "unix:/path".
	Address string `json:"address,omitempty"`
	// Variables is true when the value contains $variables: resolved per request.
	Variables bool `json:"variables,omitempty"`
	// Settings in force at this pass (timeouts, buffers, resolver, logs,
	// next_upstream, ssl options), inheritance applied.
	Settings Settings `json:"settings"`
}

// Target is one address nginx connects to, with everything that references it.
type Target struct {
	// Kind: http, https, unix (http over a unix socket), fastcgi, uwsgi, scgi, grpc, memcached.
	Kind string `json:"kind"`
	// Network for dialing: "tcp" or "unix".
	Network string `json:"network"`
	// Address: "127.0.0.1:3000", "[::1]:3000", "app.internal:8080" or "unix:/run/php/php8.2-fpm.sock".
	Address string `json:"address"`
	// Host and Port for TCP targets; Path for unix ones.
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
	// Upstream is the group name when the target is a server of an upstream block.
	Upstream string `json:"upstream,omitempty"`
	// Server is the upstream server line when there is one.
	Server *UpstreamServer `json:"server,omitempty"`
	// ReferencedAt lists the server lines and *_pass lines that lead here.
	ReferencedAt []Pos `json:"referenced_at"`
	// Passes are indexes into Config.Passes of the passes that use this target.
	Passes []int `json:"passes"`
	// Dynamic: the address comes from variables (resolved per request); not probed.
	Dynamic bool `json:"dynamic,omitempty"`
}

// ID is the stable name of a target used in causes and fix IDs.
func (t Target) ID() string { return t.Address }

// Install is what discovery found about nginx on this host.
type Install struct {
	Binary  string `json:"binary"`
	Version string `json:"version"`
	// Config is the main config path in use.
	Config string `json:"config"`
	// ConfigFrom says how Config was chosen: "flag", "master -c", "nginx -V", "default".
	ConfigFrom string  `json:"config_from"`
	Running    bool    `json:"running"`
	MasterPID  int32   `json:"master_pid,omitempty"`
	WorkerPIDs []int32 `json:"worker_pids,omitempty"`
	// WorkerUser is who the workers run as (from the running workers, else
	// the user directive, else the compiled default).
	WorkerUser string `json:"worker_user"`
	// ErrorLogDefault is nginx -V's --error-log-path (used when the config names none).
	ErrorLogDefault string `json:"error_log_default,omitempty"`
	Prefix          string `json:"prefix,omitempty"`
	// Masters are every nginx master on the host, oldest first; Chosen says
	// which one was taken and why (or why none was: -c names a config no
	// master runs).
	Masters []Master `json:"masters,omitempty"`
	Chosen  string   `json:"chosen,omitempty"`
}
