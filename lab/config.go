package lab

import (
	"cmp"
	"fmt"
	"os"
	"strings"
)

// mainConfig is a trimmed Debian nginx.conf with every path inside the lab
// dir, so that a lab never touches /etc/nginx, /var/log or /run.
func (l *Lab) mainConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ngxdoctor lab: %s", l.Scenario.Name)
	if l.Scenario.Cause != "" {
		fmt.Fprintf(&b, " (cause %s)", l.Scenario.Cause)
	}
	b.WriteString("\n")
	if os.Geteuid() == 0 {
		// Only root may switch users; as anyone else nginx warns and keeps its own.
		b.WriteString("user www-data;\n")
	}
	workers := "worker_processes auto;\n"
	for _, d := range l.Scenario.main {
		if strings.HasPrefix(d, "worker_processes ") {
			workers = ""
		}
		b.WriteString(d + "\n")
	}
	b.WriteString(workers)
	fmt.Fprintf(&b, `pid %[1]s/nginx.pid;
error_log %[1]s/error.log %[2]s;
# The lab runs nginx as a child process, so that it can be watched and stopped.
daemon off;

events {
    %[3]s
}

http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;

    access_log %[1]s/access.log combined;

    client_body_temp_path %[1]s/tmp/client_body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;

    include %[1]s/sites-enabled/*.conf;
}
`, l.Dir, cmp.Or(l.Scenario.ErrorLevel, "info"), cmp.Or(l.Scenario.events, "worker_connections 768;"))
	return b.String()
}

// server wraps a site's locations in the server block every scenario shares;
// upstreams go above it, as in a Debian sites-enabled file.
func (l *Lab) server(upstreams, body string) string {
	var b strings.Builder
	if upstreams != "" {
		b.WriteString(strings.TrimSpace(upstreams))
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "server {\n    listen %s;\n    server_name lab.test;\n\n", l.Addr)
	for line := range strings.SplitSeq(strings.TrimSpace(body), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// proxyLocation is `location / { proxy_pass TARGET; }` with the headers of
// Debian's proxy_params, plus any extra directives.
func proxyLocation(target string, extra ...string) string {
	var b strings.Builder
	b.WriteString("location / {\n")
	for _, e := range extra {
		b.WriteString("    " + e + "\n")
	}
	fmt.Fprintf(&b, `    proxy_pass %s;
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
}
`, target)
	return b.String()
}

// fastcgiParams is the lab's copy of Debian's /etc/nginx/fastcgi_params,
// written next to nginx.conf and included by a relative path, as Debian does.
const fastcgiParams = `fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;

fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;

fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;

fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;

# PHP only, required if PHP was built with --enable-force-cgi-redirect
fastcgi_param  REDIRECT_STATUS    200;
`

// uwsgiParams is the lab's copy of Debian's /etc/nginx/uwsgi_params.
const uwsgiParams = `uwsgi_param  QUERY_STRING       $query_string;
uwsgi_param  REQUEST_METHOD     $request_method;
uwsgi_param  CONTENT_TYPE       $content_type;
uwsgi_param  CONTENT_LENGTH     $content_length;

uwsgi_param  REQUEST_URI        $request_uri;
uwsgi_param  PATH_INFO          $document_uri;
uwsgi_param  DOCUMENT_ROOT      $document_root;
uwsgi_param  SERVER_PROTOCOL    $server_protocol;
uwsgi_param  REQUEST_SCHEME     $scheme;
uwsgi_param  HTTPS              $https if_not_empty;

uwsgi_param  REMOTE_ADDR        $remote_addr;
uwsgi_param  REMOTE_PORT        $remote_port;
uwsgi_param  SERVER_PORT        $server_port;
uwsgi_param  SERVER_NAME        $server_name;
`
