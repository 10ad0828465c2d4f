package nginx

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// fixture returns the absolute directory of a config tree under testdata/nginx.
func fixture(t testing.TB, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "nginx", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadFixture(t testing.TB, name string) (*Config, string) {
	t.Helper()
	dir := fixture(t, name)
	c, err := Load(context.Background(), osSystem{}, filepath.Join(dir, "nginx.conf"))
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return c, dir
}

// rel shows a position as a person reads it in the fixture: "sites-enabled/app:10".
func rel(dir string, p Pos) string {
	if p.File == "" {
		return ""
	}
	r, err := filepath.Rel(dir, p.File)
	if err != nil {
		r = p.File
	}
	return Pos{File: r, Line: p.Line}.String()
}

func rels(dir string, ps []Pos) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, rel(dir, p))
	}
	return out
}

func passAt(t *testing.T, c *Config, dir, at string) Pass {
	t.Helper()
	for _, p := range c.Passes {
		if rel(dir, p.At) == at {
			return p
		}
	}
	t.Fatalf("no pass at %s", at)
	return Pass{}
}

func TestLoadDebianPasses(t *testing.T) {
	c, dir := loadFixture(t, "debian/etc/nginx")
	if len(c.Errors) > 0 {
		t.Errorf("got errors %q, want none", c.Errors)
	}
	type row struct {
		at, directive, value, location string
		server                         int
		module, scheme, upstream, addr string
		variables                      bool
	}
	want := []row{
		{"sites-enabled/app:10", "proxy_pass", "http://app", "/", 0, "proxy", "http", "app", "", false},
		{"sites-enabled/app:16", "proxy_pass", "http://127.0.0.1:4000/v1/", "/api/", 0, "proxy", "http", "", "127.0.0.1:4000", false},
		{"sites-enabled/app:20", "proxy_pass", "http://127.0.0.1:4000", "/api/slow/", 0, "proxy", "http", "", "127.0.0.1:4000", false},
		{"sites-enabled/app:26", "proxy_pass", "http://localhost:5000", "/ws", 0, "proxy", "http", "", "localhost:5000", false},
		{"sites-enabled/php:9", "fastcgi_pass", "unix:/run/php/php8.2-fpm.sock", `~ \.php$`, 1, "fastcgi", "", "", "unix:/run/php/php8.2-fpm.sock", false},
		{"sites-enabled/php:15", "proxy_pass", "https://$backend:8443", "/dyn/", 1, "proxy", "https", "", "", true},
		{"sites-enabled/php:19", "grpc_pass", "grpcs://[::1]:50051", "/grpc", 1, "grpc", "grpcs", "", "[::1]:50051", false},
		{"sites-enabled/php:23", "uwsgi_pass", "uwsgi://127.0.0.1:3031", "/legacy", 1, "uwsgi", "", "", "127.0.0.1:3031", false},
		{"sites-enabled/php:27", "proxy_pass", "http://unix:/run/app/app.sock:/", "/sock/", 1, "proxy", "http", "", "unix:/run/app/app.sock", false},
	}
	var got []row
	for _, p := range c.Passes {
		got = append(got, row{rel(dir, p.At), p.Directive, p.Value, p.Location, p.Server, p.Module, p.Scheme, p.Upstream, p.Address, p.Variables})
	}
	if len(got) != len(want) {
		t.Fatalf("got %d passes, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("pass %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestSettingsInheritance(t *testing.T) {
	c, dir := loadFixture(t, "debian/etc/nginx")
	tests := []struct {
		name    string
		pass    string
		setting string
		want    []string // "args @ file:line" per occurrence; nil: not set
	}{
		{"location overrides http", "sites-enabled/app:10", "proxy_read_timeout", []string{"90s @ sites-enabled/app:11"}},
		{"inherited from http", "sites-enabled/app:16", "proxy_read_timeout", []string{"30s @ nginx.conf:18"}},
		{"nested location overrides", "sites-enabled/app:20", "proxy_read_timeout", []string{"10m @ sites-enabled/app:19"}},
		{"from server", "sites-enabled/app:10", "proxy_connect_timeout", []string{"5s @ sites-enabled/app:7"}},
		{"not set anywhere", "sites-enabled/php:9", "proxy_connect_timeout", nil},
		{"set_header all from http", "sites-enabled/app:10", "proxy_set_header", []string{"Host $host @ nginx.conf:19", "X-Real-IP $remote_addr @ nginx.conf:20"}},
		{"set_header replaced wholesale by location", "sites-enabled/app:16", "proxy_set_header", []string{"X-Api yes @ sites-enabled/app:15"}},
		{"set_header inherited by nested location", "sites-enabled/app:20", "proxy_set_header", []string{"X-Api yes @ sites-enabled/app:15"}},
		{"if inherits its location", "sites-enabled/app:26", "proxy_http_version", []string{"1.1 @ sites-enabled/app:28"}},
		{"from an included snippet", "sites-enabled/php:9", "fastcgi_read_timeout", []string{"300 @ snippets/fastcgi-php.conf:4"}},
		{"from a file included by a snippet", "sites-enabled/php:9", "fastcgi_param", []string{
			"QUERY_STRING $query_string @ fastcgi_params:1",
			"REQUEST_METHOD $request_method @ fastcgi_params:2",
			"SCRIPT_FILENAME $document_root$fastcgi_script_name @ fastcgi_params:3"}},
		{"resolver in location", "sites-enabled/php:15", "resolver", []string{"127.0.0.53 valid=30s @ sites-enabled/php:13"}},
		{"no resolver", "sites-enabled/app:26", "resolver", nil},
		{"error_log of server", "sites-enabled/php:9", "error_log", []string{"/var/log/nginx/php.error.log warn @ sites-enabled/php:4"}},
		{"error_log of http", "sites-enabled/app:10", "error_log", []string{"/var/log/nginx/error.log @ nginx.conf:16"}},
		{"access_log of server", "sites-enabled/app:10", "access_log", []string{"/var/log/nginx/app.access.log upstream @ sites-enabled/app:6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := passAt(t, c, dir, tt.pass)
			var got []string
			for _, d := range p.Settings[tt.setting] {
				got = append(got, strings.Join(d.Args, " ")+" @ "+rel(dir, d.At))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s at %s: got %q, want %q", tt.setting, tt.pass, got, tt.want)
			}
		})
	}
	if _, ok := passAt(t, c, dir, "sites-enabled/app:10").Settings["proxy_pass"]; ok {
		t.Error("got proxy_pass among settings, want only settings")
	}
}

type targetRow struct {
	kind, network, address, host string
	port                         int
	path, upstream               string
	referenced                   string
	passes                       string
	dynamic                      bool
}

func targetRows(dir string, ts []Target) []targetRow {
	var out []targetRow
	for _, t := range ts {
		var passes []string
		for _, p := range t.Passes {
			passes = append(passes, strconv.Itoa(p))
		}
		out = append(out, targetRow{t.Kind, t.Network, t.Address, t.Host, t.Port, t.Path, t.Upstream,
			strings.Join(rels(dir, t.ReferencedAt), " "), strings.Join(passes, ","), t.Dynamic})
	}
	return out
}

func TestTargetsDebian(t *testing.T) {
	c, dir := loadFixture(t, "debian/etc/nginx")
	want := []targetRow{
		{"http", "tcp", "127.0.0.1:3000", "127.0.0.1", 3000, "", "app", "conf.d/upstreams.conf:3 sites-enabled/app:10", "0", false},
		{"http", "tcp", "[::1]:3001", "::1", 3001, "", "app", "conf.d/upstreams.conf:4 sites-enabled/app:10", "0", false},
		{"unix", "unix", "unix:/run/app/app.sock", "", 0, "/run/app/app.sock", "app", "conf.d/upstreams.conf:5 sites-enabled/app:10 sites-enabled/php:27", "0,8", false},
		{"http", "tcp", "127.0.0.1:4000", "127.0.0.1", 4000, "", "", "sites-enabled/app:16 sites-enabled/app:20", "1,2", false},
		{"http", "tcp", "localhost:5000", "localhost", 5000, "", "", "sites-enabled/app:26", "3", false},
		{"fastcgi", "unix", "unix:/run/php/php8.2-fpm.sock", "", 0, "/run/php/php8.2-fpm.sock", "", "sites-enabled/php:9", "4", false},
		{"https", "tcp", "https://$backend:8443", "", 0, "", "", "sites-enabled/php:15", "5", true},
		{"grpc", "tcp", "[::1]:50051", "::1", 50051, "", "", "sites-enabled/php:19", "6", false},
		{"uwsgi", "tcp", "127.0.0.1:3031", "127.0.0.1", 3031, "", "", "sites-enabled/php:23", "7", false},
	}
	got := targetRows(dir, c.Targets())
	if len(got) != len(want) {
		t.Fatalf("got %d targets, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("target %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
	for _, tg := range c.Targets() {
		if tg.Address == "127.0.0.1:9999" {
			t.Error("got a target for upstream unused, want none: no pass names it")
		}
		if tg.Address == "127.0.0.1:7777" {
			t.Error("got a target from sites-available/disabled, want none: it is not enabled")
		}
	}
	ts := c.Targets()
	if s := ts[1].Server; s == nil || !s.Backup || s.Weight != 1 {
		t.Errorf("[::1]:3001 server: got %+v, want backup with weight 1", s)
	}
	if ps := c.PassesFor(ts[3]); len(ps) != 2 || ps[0].Location != "/api/" || ps[1].Location != "/api/slow/" {
		t.Errorf("PassesFor(127.0.0.1:4000): got %+v, want the /api/ and /api/slow/ passes", ps)
	}
}

func TestLoadDebianConfig(t *testing.T) {
	c, dir := loadFixture(t, "debian/etc/nginx")
	if c.User != "www-data" || rel(dir, c.UserAt) != "nginx.conf:1" {
		t.Errorf("user: got %q at %s, want www-data at nginx.conf:1", c.User, rel(dir, c.UserAt))
	}
	if got := strings.Join(c.Workers.Args, " "); got != "auto" {
		t.Errorf("worker_processes: got %q, want auto", got)
	}
	if c.WorkerConnections != 768 {
		t.Errorf("worker_connections: got %d, want 768", c.WorkerConnections)
	}
	wantFiles := []string{"nginx.conf", "mime.types", "conf.d/upstreams.conf", "sites-enabled/app", "sites-enabled/php", "snippets/fastcgi-php.conf", "fastcgi_params"}
	var files []string
	for _, f := range c.Files {
		r, _ := filepath.Rel(dir, f)
		files = append(files, r)
	}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("files: got %q, want %q", files, wantFiles)
	}
	var logs []string
	for _, l := range c.ErrorLogs {
		logs = append(logs, l.Path+" "+l.Level+" @ "+rel(dir, l.At))
	}
	if want := []string{"/var/log/nginx/error.log error @ nginx.conf:16", "/var/log/nginx/php.error.log warn @ sites-enabled/php:4"}; !slices.Equal(logs, want) {
		t.Errorf("error logs: got %q, want %q", logs, want)
	}
	logs = nil
	for _, l := range c.AccessLogs {
		logs = append(logs, l.Path+" "+l.Format+" @ "+rel(dir, l.At))
	}
	if want := []string{"/var/log/nginx/access.log combined @ nginx.conf:15", "/var/log/nginx/app.access.log upstream @ sites-enabled/app:6"}; !slices.Equal(logs, want) {
		t.Errorf("access logs: got %q, want %q", logs, want)
	}
	if f, ok := c.LogFormats["upstream"]; !ok || rel(dir, f.At) != "nginx.conf:14" {
		t.Errorf("log_format upstream: got %+v, want it at nginx.conf:14", f)
	}
	if got := rels(dir, c.StubStatus); !slices.Equal(got, []string{"sites-enabled/app:33"}) {
		t.Errorf("stub_status: got %q, want [sites-enabled/app:33]", got)
	}
	if len(c.Servers) != 2 {
		t.Fatalf("got %d servers, want 2", len(c.Servers))
	}
	if s := c.Servers[0]; !slices.Equal(s.Names, []string{"app.example.com", "www.app.example.com"}) || !slices.Equal(s.Listen, []string{"80", "[::]:80"}) || s.SSL {
		t.Errorf("server 0: got %+v, want app.example.com on 80 and [::]:80 without ssl", s)
	}
	if s := c.Servers[1]; !s.SSL || !slices.Equal(s.Listen, []string{"443"}) {
		t.Errorf("server 1: got %+v, want ssl on 443", s)
	}
	up := c.Upstreams[0]
	wantServers := []UpstreamServer{
		{Address: "127.0.0.1:3000", Weight: 5, MaxFails: 3, FailTimeout: "30s"},
		{Address: "[::1]:3001", Weight: 1, MaxFails: 1, FailTimeout: "10s", Backup: true},
		{Address: "unix:/run/app/app.sock", Weight: 1, MaxFails: 1, FailTimeout: "10s", Down: true},
	}
	for i := range up.Servers {
		up.Servers[i].At = Pos{}
	}
	if up.Name != "app" || !reflect.DeepEqual(up.Servers, wantServers) {
		t.Errorf("upstream: got %s %+v, want app %+v", up.Name, up.Servers, wantServers)
	}
	if len(up.Directives) != 1 || up.Directives[0].Name != "keepalive" {
		t.Errorf("upstream directives: got %+v, want keepalive", up.Directives)
	}
}

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		fixture    string
		wantUser   string
		wantErrors []string // substrings, in order, each "file:line: message"
		wantTarget []string // "kind address upstream @ referenced"
	}{
		{
			fixture:    "rhel/etc/nginx",
			wantUser:   "nginx",
			wantTarget: []string{"fastcgi unix:/run/php-fpm/www.sock php-fpm @ conf.d/php-fpm.conf:5 default.d/php.conf:15"},
		},
		{
			// Lua code is neither nginx syntax nor a reason to give up.
			fixture:    "lua",
			wantTarget: []string{"http 127.0.0.1:8081  @ nginx.conf:21"},
		},
		{
			fixture: "broken",
			wantErrors: []string{
				`sites/b-unbalanced:6: unexpected end of file, expecting "}"`,
				`nginx.conf:14: invalid number of arguments in "proxy_pass" directive`,
				`nginx.conf:6: include `,
			},
			wantTarget: []string{
				"fastcgi 127.0.0.1:9000  @ sites/a-good:3",
				"http 127.0.0.1:3002  @ sites/b-unbalanced:4",
				"http 127.0.0.1:3000  @ nginx.conf:11",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			c, dir := loadFixture(t, tt.fixture)
			if c.User != tt.wantUser {
				t.Errorf("user: got %q, want %q", c.User, tt.wantUser)
			}
			if len(c.Errors) != len(tt.wantErrors) {
				t.Errorf("got errors %q, want %d", c.Errors, len(tt.wantErrors))
			}
			for i, w := range tt.wantErrors {
				if i < len(c.Errors) && !strings.Contains(c.Errors[i], filepath.Join(dir, w)) {
					t.Errorf("error %d: got %q, want it to contain %q", i, c.Errors[i], filepath.Join(dir, w))
				}
			}
			var got []string
			for _, tg := range c.Targets() {
				got = append(got, tg.Kind+" "+tg.Address+" "+tg.Upstream+" @ "+strings.Join(rels(dir, tg.ReferencedAt), " "))
			}
			if !slices.Equal(got, tt.wantTarget) {
				t.Errorf("targets:\ngot  %q\nwant %q", got, tt.wantTarget)
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(context.Background(), memSystem{files: map[string][]byte{
		"/etc/nginx/nginx.conf": []byte("events {}\nhttp { server { location / { proxy_pass http://127.0.0.1:3000; } } }\n"),
	}}, "/etc/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.WorkerConnections != 512 {
		t.Errorf("worker_connections: got %d, want 512", c.WorkerConnections)
	}
	if len(c.ErrorLogs) != 1 || c.ErrorLogs[0].Path != DefaultErrorLog || c.ErrorLogs[0].Level != "error" {
		t.Errorf("error logs: got %+v, want the default %s at level error", c.ErrorLogs, DefaultErrorLog)
	}
	if c.User != "" {
		t.Errorf("user: got %q, want empty (compiled default)", c.User)
	}
}

// TestPassAddresses covers what each *_pass form makes of its value.
func TestPassAddresses(t *testing.T) {
	tests := []struct {
		line                      string
		scheme, upstream, address string
		variables                 bool
		kind, network, target     string
		host                      string
		port                      int
		path                      string
		dynamic                   bool
	}{
		{"proxy_pass http://127.0.0.1;", "http", "", "127.0.0.1:80", false, "http", "tcp", "127.0.0.1:80", "127.0.0.1", 80, "", false},
		{"proxy_pass https://example.com/app/;", "https", "", "example.com:443", false, "https", "tcp", "example.com:443", "example.com", 443, "", false},
		{"proxy_pass http://[::1]:3000;", "http", "", "[::1]:3000", false, "http", "tcp", "[::1]:3000", "::1", 3000, "", false},
		{"proxy_pass http://[::1];", "http", "", "[::1]:80", false, "http", "tcp", "[::1]:80", "::1", 80, "", false},
		{"proxy_pass HTTP://Backend;", "http", "backend", "", false, "http", "tcp", "10.0.0.1:8080", "10.0.0.1", 8080, "", false},
		{"proxy_pass https://backend/x;", "https", "backend", "", false, "https", "tcp", "10.0.0.1:8080", "10.0.0.1", 8080, "", false},
		{"proxy_pass http://unix:/run/a.sock;", "http", "", "unix:/run/a.sock", false, "unix", "unix", "unix:/run/a.sock", "", 0, "/run/a.sock", false},
		{"proxy_pass http://unix:/run/a.sock:/api/;", "http", "", "unix:/run/a.sock", false, "unix", "unix", "unix:/run/a.sock", "", 0, "/run/a.sock", false},
		{"proxy_pass http://$host$request_uri;", "http", "", "", true, "http", "tcp", "http://$host$request_uri", "", 0, "", true},
		{"proxy_pass $scheme://x;", "", "", "", true, "http", "tcp", "$scheme://x", "", 0, "", true},
		{"proxy_pass http://127.0.0.1:3000$request_uri;", "http", "", "127.0.0.1:3000", true, "http", "tcp", "127.0.0.1:3000", "127.0.0.1", 3000, "", false},
		{"proxy_pass http://backend$request_uri;", "http", "backend", "", true, "http", "tcp", "10.0.0.1:8080", "10.0.0.1", 8080, "", false},
		{"fastcgi_pass 127.0.0.1:9000;", "", "", "127.0.0.1:9000", false, "fastcgi", "tcp", "127.0.0.1:9000", "127.0.0.1", 9000, "", false},
		{"fastcgi_pass unix:/run/php/fpm.sock;", "", "", "unix:/run/php/fpm.sock", false, "fastcgi", "unix", "unix:/run/php/fpm.sock", "", 0, "/run/php/fpm.sock", false},
		{"fastcgi_pass backend;", "", "backend", "", false, "fastcgi", "tcp", "10.0.0.1:8080", "10.0.0.1", 8080, "", false},
		{"uwsgi_pass suwsgi://127.0.0.1:3031;", "", "", "127.0.0.1:3031", false, "uwsgi", "tcp", "127.0.0.1:3031", "127.0.0.1", 3031, "", false},
		{"uwsgi_pass unix:/run/uwsgi.sock;", "", "", "unix:/run/uwsgi.sock", false, "uwsgi", "unix", "unix:/run/uwsgi.sock", "", 0, "/run/uwsgi.sock", false},
		{"scgi_pass 127.0.0.1:4000;", "", "", "127.0.0.1:4000", false, "scgi", "tcp", "127.0.0.1:4000", "127.0.0.1", 4000, "", false},
		{"grpc_pass 127.0.0.1:50051;", "grpc", "", "127.0.0.1:50051", false, "grpc", "tcp", "127.0.0.1:50051", "127.0.0.1", 50051, "", false},
		{"grpc_pass grpc://localhost;", "grpc", "", "localhost:80", false, "grpc", "tcp", "localhost:80", "localhost", 80, "", false},
		{"grpc_pass grpcs://localhost;", "grpcs", "", "localhost:443", false, "grpc", "tcp", "localhost:443", "localhost", 443, "", false},
		{"memcached_pass 127.0.0.1:11211;", "", "", "127.0.0.1:11211", false, "memcached", "tcp", "127.0.0.1:11211", "127.0.0.1", 11211, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			conf := "http {\n upstream backend { server 10.0.0.1:8080; }\n server {\n  location / {\n   " + tt.line + "\n  }\n }\n}\n"
			c, err := Load(context.Background(), memSystem{files: map[string][]byte{"/n.conf": []byte(conf)}}, "/n.conf")
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Errors) > 0 || len(c.Passes) != 1 {
				t.Fatalf("got errors %q and %d passes, want none and 1", c.Errors, len(c.Passes))
			}
			p := c.Passes[0]
			if p.Scheme != tt.scheme || p.Upstream != tt.upstream || p.Address != tt.address || p.Variables != tt.variables {
				t.Errorf("pass: got scheme %q upstream %q address %q variables %v, want %q %q %q %v",
					p.Scheme, p.Upstream, p.Address, p.Variables, tt.scheme, tt.upstream, tt.address, tt.variables)
			}
			if p.At != (Pos{File: "/n.conf", Line: 5}) {
				t.Errorf("pass at: got %s, want /n.conf:5", p.At)
			}
			ts := c.Targets()
			if len(ts) != 1 {
				t.Fatalf("got %d targets, want 1: %+v", len(ts), ts)
			}
			g := ts[0]
			if g.Kind != tt.kind || g.Network != tt.network || g.Address != tt.target || g.Host != tt.host || g.Port != tt.port || g.Path != tt.path || g.Dynamic != tt.dynamic {
				t.Errorf("target: got %s %s %s host %q port %d path %q dynamic %v, want %s %s %s host %q port %d path %q dynamic %v",
					g.Kind, g.Network, g.Address, g.Host, g.Port, g.Path, g.Dynamic,
					tt.kind, tt.network, tt.target, tt.host, tt.port, tt.path, tt.dynamic)
			}
		})
	}
}

func TestLoadDumpFixture(t *testing.T) {
	dump, err := os.ReadFile(filepath.Join(fixture(t, "dump"), "nginx-T.txt"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadDump(dump)
	if err != nil {
		t.Fatal(err)
	}
	if c.Main != "/etc/nginx/nginx.conf" {
		t.Errorf("main: got %q, want /etc/nginx/nginx.conf", c.Main)
	}
	if want := []string{"/etc/nginx/nginx.conf", "/etc/nginx/conf.d/upstreams.conf", "/etc/nginx/sites-enabled/main"}; !slices.Equal(c.Files, want) {
		t.Errorf("files: got %q, want %q", c.Files, want)
	}
	if len(c.Errors) > 0 {
		t.Errorf("got errors %q, want none", c.Errors)
	}
	want := []string{
		"http 127.0.0.1:3000 api @ /etc/nginx/conf.d/upstreams.conf:2 /etc/nginx/sites-enabled/main:6",
		"http [::1]:3000 api @ /etc/nginx/conf.d/upstreams.conf:3 /etc/nginx/sites-enabled/main:6",
		"fastcgi unix:/tmp/ngxdoctor-php.sock  @ /etc/nginx/sites-enabled/main:10",
		"http 127.0.0.1:4000  @ /etc/nginx/sites-enabled/main:14",
		"http 127.0.0.1:4001  @ /etc/nginx/sites-enabled/main:16",
		"scgi 127.0.0.1:4002  @ /etc/nginx/sites-enabled/main:18",
		"memcached 127.0.0.1:11211  @ /etc/nginx/sites-enabled/main:19",
	}
	var got []string
	for _, tg := range c.Targets() {
		var at []string
		for _, p := range tg.ReferencedAt {
			at = append(at, p.String())
		}
		got = append(got, tg.Kind+" "+tg.Address+" "+tg.Upstream+" @ "+strings.Join(at, " "))
	}
	if !slices.Equal(got, want) {
		t.Errorf("targets:\ngot  %q\nwant %q", got, want)
	}
	p := c.Passes[1]
	if d, ok := p.Settings.Get("fastcgi_read_timeout"); !ok || d.Args[0] != "120s" || d.At.String() != "/etc/nginx/sites-enabled/main:9" {
		t.Errorf("fastcgi_read_timeout: got %+v, want 120s at /etc/nginx/sites-enabled/main:9", d)
	}
}

func TestLoadDumpCRLF(t *testing.T) {
	dump := "nginx: configuration file /etc/nginx/nginx.conf test is successful\r\n" +
		"# configuration file /etc/nginx/nginx.conf:\r\n" +
		"http {\r\n  include conf.d/*.conf;\r\n}\r\n\r\n" +
		"# configuration file /etc/nginx/conf.d/a.conf:\r\n" +
		"server {\r\n  location / {\r\n    proxy_pass http://127.0.0.1:3000;\r\n  }\r\n}\r\n"
	c, err := LoadDump([]byte(dump))
	if err != nil {
		t.Fatal(err)
	}
	ts := c.Targets()
	if len(ts) != 1 || ts[0].Address != "127.0.0.1:3000" || ts[0].ReferencedAt[0].String() != "/etc/nginx/conf.d/a.conf:3" {
		t.Errorf("got targets %+v, want 127.0.0.1:3000 at /etc/nginx/conf.d/a.conf:3", ts)
	}
}

func TestLoadDumpRejects(t *testing.T) {
	tests := []struct {
		name string
		dump string
	}{
		{"empty", ""},
		{"only nginx -t lines", "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := LoadDump([]byte(tt.dump)); err == nil {
				t.Errorf("got %+v, want an error", c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string][]byte
		wantErr string // Load's error, or
		wantIn  string // one of Config.Errors
	}{
		{"missing main file", map[string][]byte{}, "/etc/nginx/nginx.conf", ""},
		{"includes itself", map[string][]byte{"/etc/nginx/nginx.conf": []byte("include nginx.conf;\n")}, "include cycle", ""},
		{"bad glob", map[string][]byte{"/etc/nginx/nginx.conf": []byte("include [;\n")}, "", "include /etc/nginx/[: syntax error in pattern"},
		{"extra closing brace", map[string][]byte{"/etc/nginx/nginx.conf": []byte("http {}\n}\n")}, "", `/etc/nginx/nginx.conf:2: unexpected "}"`},
		{"deep nesting", map[string][]byte{"/etc/nginx/nginx.conf": []byte(strings.Repeat("a {", 100000) + strings.Repeat("}", 100000))}, "nested more than 200 deep", ""},
		{"deep nesting in an include", map[string][]byte{
			"/etc/nginx/nginx.conf": []byte("include deep.conf;\nhttp { server { location / { proxy_pass http://127.0.0.1:1; } } }\n"),
			"/etc/nginx/deep.conf":  []byte(strings.Repeat("a {", 300) + strings.Repeat("}", 300)),
		}, "", "/etc/nginx/nginx.conf:1: include /etc/nginx/deep.conf: blocks nested more than 200 deep"},
		{"binary garbage", map[string][]byte{"/etc/nginx/nginx.conf": {0, 0xff, '{', 0xfe, '"', 0}}, "", "/etc/nginx/nginx.conf:1: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(context.Background(), memSystem{files: tt.files}, "/etc/nginx/nginx.conf")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want Config.Errors", err)
			}
			found := false
			for _, e := range c.Errors {
				found = found || strings.Contains(e, tt.wantIn)
			}
			if !found {
				t.Errorf("got errors %q, want one containing %q", c.Errors, tt.wantIn)
			}
		})
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Load(ctx, memSystem{files: map[string][]byte{"/n.conf": []byte("events {}\n")}}, "/n.conf")
	if err == nil {
		t.Fatal("got no error for a cancelled context, want one")
	}
}

// hugeSystem serves one main file including one file that claims to be huge.
type hugeSystem struct{ memSystem }

type hugeFile struct{}

func (hugeFile) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
func (hugeFile) Close() error { return nil }
func (hugeFile) Size() int64  { return 1 << 40 }

func (h hugeSystem) Open(path string) (host.File, error) {
	if path == "/huge.conf" {
		return hugeFile{}, nil
	}
	return h.memSystem.Open(path)
}

func TestLoadLimits(t *testing.T) {
	t.Run("bytes", func(t *testing.T) {
		sys := hugeSystem{memSystem{files: map[string][]byte{
			"/n.conf":    []byte("include huge.conf;\nhttp { server { location / { proxy_pass http://127.0.0.1:1; } } }\n"),
			"/huge.conf": nil,
		}}}
		c, err := Load(context.Background(), sys, "/n.conf")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(c.Errors, func(e string) bool { return strings.Contains(e, "larger than 64 MiB") }) {
			t.Errorf("got errors %q, want one saying the configuration is larger than 64 MiB", c.Errors)
		}
		if len(c.Passes) != 1 {
			t.Errorf("got %d passes, want the 1 outside the huge file", len(c.Passes))
		}
	})
	t.Run("files", func(t *testing.T) {
		files := map[string][]byte{"/n.conf": []byte("include /d/*;\n")}
		for i := range MaxConfigFiles + 5 {
			files[fmt.Sprintf("/d/f%05d", i)] = []byte("# x\n")
		}
		c, err := Load(context.Background(), memSystem{files: files}, "/n.conf")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Files) != MaxConfigFiles {
			t.Errorf("got %d files read, want the limit %d", len(c.Files), MaxConfigFiles)
		}
		if !slices.ContainsFunc(c.Errors, func(e string) bool { return strings.Contains(e, "more than 10000 configuration files") }) {
			t.Errorf("got %d errors starting %q, want one about more than 10000 files", len(c.Errors), c.Errors[:min(3, len(c.Errors))])
		}
	})
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func TestSettingsEdgeCases(t *testing.T) {
	files := map[string][]byte{
		"/etc/nginx/nginx.conf": []byte(`http {
    include timeouts.conf;
    server {
        if ($bad) {
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:1;
        }
        location /a {
            include timeouts.conf;
            proxy_pass http://127.0.0.1:2;
        }
        location /b {
            limit_except GET {
                proxy_send_timeout 9s;
                proxy_pass http://127.0.0.1:3;
            }
            error_log /var/log/b.log info;
            error_log stderr;
            proxy_pass http://127.0.0.1:4;
        }
    }
}
`),
		"/etc/nginx/timeouts.conf": []byte("proxy_read_timeout 7s;\nproxy_send_timeout 8s;\n"),
	}
	c, err := Load(context.Background(), memSystem{files: files}, "/etc/nginx/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pass     int
		location string
		setting  string
		want     string // "args @ file:line" joined by "; "
	}{
		{0, "", "proxy_read_timeout", "1s @ /etc/nginx/nginx.conf:5"},
		{0, "", "proxy_send_timeout", "8s @ /etc/nginx/timeouts.conf:2"},
		// The same snippet included at two levels counts at each.
		{1, "/a", "proxy_read_timeout", "7s @ /etc/nginx/timeouts.conf:1"},
		{2, "/b", "proxy_send_timeout", "9s @ /etc/nginx/nginx.conf:14"},
		{2, "/b", "error_log", "/var/log/b.log info @ /etc/nginx/nginx.conf:17; stderr @ /etc/nginx/nginx.conf:18"},
		{3, "/b", "proxy_send_timeout", "8s @ /etc/nginx/timeouts.conf:2"},
		{3, "/b", "error_log", "/var/log/b.log info @ /etc/nginx/nginx.conf:17; stderr @ /etc/nginx/nginx.conf:18"},
	}
	if len(c.Passes) != 4 {
		t.Fatalf("got %d passes, want 4", len(c.Passes))
	}
	for _, tt := range tests {
		p := c.Passes[tt.pass]
		if p.Location != tt.location {
			t.Errorf("pass %d location: got %q, want %q", tt.pass, p.Location, tt.location)
		}
		var got []string
		for _, d := range p.Settings[tt.setting] {
			got = append(got, strings.Join(d.Args, " ")+" @ "+d.At.String())
		}
		if strings.Join(got, "; ") != tt.want {
			t.Errorf("pass %d %s: got %q, want %q", tt.pass, tt.setting, strings.Join(got, "; "), tt.want)
		}
	}
	var logs []string
	for _, l := range c.ErrorLogs {
		logs = append(logs, l.Path+" "+l.Level)
	}
	if want := []string{"/var/log/b.log info", "stderr error"}; !slices.Equal(logs, want) {
		t.Errorf("error logs: got %q, want %q (stderr kept as written)", logs, want)
	}
}
