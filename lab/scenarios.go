package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Scenario is one way a reverse proxy breaks, set up for real.
type Scenario struct {
	Name        string // "healthy" or a cause id, e.g. "backend-down"
	Cause       string // the design's cause id; empty for healthy
	Description string // one sentence for the training lab
	// Status is what a client gets for Path once the failure shows; 0 when
	// it gets no valid HTTP response at all (Get returns an error).
	Status int
	// AccessStatus is the status field of the access log line when it is not
	// Status: "009" when nginx relayed a non-HTTP reply as HTTP/0.9.
	AccessStatus string
	// Message is a piece of the error-log line nginx writes for it (empty for healthy).
	Message string
	// NeedsRoot: Start fails unless root.
	NeedsRoot bool
	// MinRequests is how many requests it takes for Message to appear.
	MinRequests int
	// Intermittent: only some requests get Status, the others 200 (nginx
	// alternates between a name's addresses and rests a failed one).
	Intermittent bool
	// Concurrency: Trigger sends this many requests at once (an overload
	// shows only under load); 0 or 1 sends them one after another.
	Concurrency int
	// ErrorLevel is the error_log level of the config ("info" when empty).
	ErrorLevel string
	// Hosts is the /etc/hosts the scenario needs ("" for the machine's):
	// run it in a private mount namespace (labtest.PrivateHosts).
	Hosts string

	rootReason string
	// main are directives of nginx.conf's main context; one of
	// worker_processes replaces the default "auto".
	main []string
	// events replaces the events block's "worker_connections 768;".
	events string
	setup  func(ctx context.Context, l *Lab) (site string, err error)
	// after runs once nginx accepts: what happened to the running nginx
	// since it started (a file edited but not reloaded, a failed reload).
	after func(ctx context.Context, l *Lab) error
}

// Scenarios returns all scenarios, healthy first, in a stable order.
func Scenarios() []Scenario {
	return append(baseScenarios(), evidenceScenarios()...)
}

func baseScenarios() []Scenario {
	return []Scenario{
		{
			Name:        "healthy",
			Description: "An upstream group with one Go backend that answers 200 at once.",
			Status:      http.StatusOK,
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				// keepalive to the upstream works only with HTTP/1.1 and no "Connection: close".
				return l.server(upstream("app", addr, "keepalive 8;"),
					proxyLocation("http://app", "proxy_http_version 1.1;", `proxy_set_header Connection "";`)), nil
			},
		},
		{
			Name:        "backend-down",
			Cause:       "backend-down",
			Description: "proxy_pass points at a port where nothing listens: the backend is stopped.",
			Status:      http.StatusBadGateway,
			Message:     "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				port, err := FreePort()
				if err != nil {
					return "", err
				}
				addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
				l.Backends = []string{addr}
				return l.server("", proxyLocation("http://"+addr)), nil
			},
		},
		{
			Name:        "wrong-address",
			Cause:       "wrong-address",
			Description: "The backend listens on [::1] only, while nginx connects to 127.0.0.1 on the same port.",
			Status:      http.StatusBadGateway,
			Message:     "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.httpBackend("[::1]:0", okHandler())
				if err != nil {
					return "", err
				}
				_, port, _ := net.SplitHostPort(addr)
				wrong := net.JoinHostPort("127.0.0.1", port)
				if c, err := net.DialTimeout("tcp", wrong, time.Second); err == nil {
					c.Close()
					return "", fmt.Errorf("%s is taken by another program", wrong)
				}
				l.Backends = []string{wrong}
				return l.server("", proxyLocation("http://"+wrong)), nil
			},
		},
		{
			Name:        "wrong-address-port",
			Cause:       "wrong-address",
			Description: "The backend listens on the port after the one nginx connects to.",
			Status:      http.StatusBadGateway,
			Message:     "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				wrong, err := l.portBelowBackend()
				if err != nil {
					return "", err
				}
				l.Backends = []string{wrong}
				return l.server(upstream("app", wrong, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "socket-missing",
			Cause:       "socket-missing",
			Description: "proxy_pass names a unix socket that does not exist: the app server is not running.",
			Status:      http.StatusBadGateway,
			Message:     "failed (2: No such file or directory) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				sock := "unix:" + l.Dir + "/run/missing.sock"
				l.Backends = []string{sock}
				return l.server(upstream("app", sock, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "socket-permission",
			Cause:       "socket-permission",
			Description: "php-fpm's socket is root:root 0600, so the www-data workers may not connect to it.",
			Status:      http.StatusBadGateway,
			Message:     "failed (13: Permission denied) while connecting to upstream",
			NeedsRoot:   true,
			rootReason:  "the workers must run as www-data while php-fpm's socket belongs to root",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				sock, err := l.phpFPM(ctx, "root", "root", "0600")
				if err != nil {
					return "", err
				}
				l.Backends = []string{"unix:" + sock}
				l.Listeners = []string{"unix:" + sock}
				l.Path = "/index.php"
				return l.server("", fmt.Sprintf(`root %s/www;
index index.php index.html;

location / {
    try_files $uri $uri/ =404;
}

location ~ \.php$ {
    include fastcgi_params;
    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
    fastcgi_pass unix:%s;
}`, l.Dir, sock)), nil
			},
		},
		{
			Name:  "socket-permission-dir",
			Cause: "socket-permission",
			Description: "The app's socket is open to all (0666), but its directory is root's 0700, " +
				"so the www-data workers cannot reach it.",
			Status:     http.StatusBadGateway,
			Message:    "failed (13: Permission denied) while connecting to upstream",
			NeedsRoot:  true,
			rootReason: "the workers must run as www-data while the socket's directory belongs to root",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				dir := filepath.Join(l.Dir, "run", "app")
				if err := os.Mkdir(dir, 0o700); err != nil {
					return "", err
				}
				sock := filepath.Join(dir, "app.sock")
				ln, err := net.Listen("unix", sock)
				if err != nil {
					return "", err
				}
				l.addCloser(func() error { ln.Close(); return nil })
				if err := os.Chmod(sock, 0o666); err != nil {
					return "", err
				}
				l.serveHTTP(ln, okHandler())
				l.Backends = []string{"unix:" + sock}
				l.Listeners = []string{"unix:" + sock}
				return l.server(upstream("app", "unix:"+sock, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "upstream-timeout",
			Cause:       "upstream-timeout",
			Description: "The backend takes 3 s to answer; proxy_read_timeout is 1 s, so nginx gives up with 504.",
			Status:      http.StatusGatewayTimeout,
			Message:     "upstream timed out (110: Connection timed out) while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-time.After(3 * time.Second):
						_, _ = w.Write([]byte("late\n"))
					case <-r.Context().Done():
					}
				})
				addr, err := l.httpBackend("127.0.0.1:0", slow)
				if err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app", "proxy_read_timeout 1s;")), nil
			},
		},
		{
			Name:        "upstream-closed",
			Cause:       "upstream-closed",
			Description: "The backend reads the request and closes the connection without answering, like a crashing worker.",
			Status:      http.StatusBadGateway,
			Message:     "upstream prematurely closed connection while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.rawBackend(func(c net.Conn) { readRequest(c) })
				if err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "upstream-reset",
			Cause:       "upstream-reset",
			Description: "The backend reads the request and resets the connection (RST).",
			Status:      http.StatusBadGateway,
			Message:     "(104: Connection reset by peer) while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.rawBackend(func(c net.Conn) {
					readRequest(c)
					// Linger 0 makes Close send RST instead of FIN.
					if tc, ok := c.(*net.TCPConn); ok {
						_ = tc.SetLinger(0)
					}
				})
				if err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "header-too-big",
			Cause:       "header-too-big",
			Description: "The backend sends a 16 KiB cookie; proxy_buffer_size is 4k.",
			Status:      http.StatusBadGateway,
			Message:     "upstream sent too big header while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				big := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Set-Cookie", "session="+strings.Repeat("a", 16<<10)+"; Path=/")
					_, _ = w.Write([]byte("ok\n"))
				})
				addr, err := l.httpBackend("127.0.0.1:0", big)
				if err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app", "proxy_buffer_size 4k;")), nil
			},
		},
		{
			Name:  "invalid-response",
			Cause: "invalid-response",
			Description: "The backend port is an SSH server: it answers with a banner, not HTTP. " +
				"nginx 1.22 takes the banner for an HTTP/0.9 reply and relays it: the client gets no 502 but garbage, the access log says 009.",
			Status:       0,
			AccessStatus: "009",
			Message:      "upstream sent no valid HTTP/1.0 header while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.rawBackend(func(c net.Conn) {
					// sshd sends its banner first; answering only after the request
					// avoids a race in which nginx reads the banner, never sends
					// the request, and both wait for the other until a timeout.
					readRequest(c)
					_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
				})
				if err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "invalid-response-header",
			Cause:       "invalid-response",
			Description: "The backend sends a header name holding a NUL byte, which nginx refuses with 502.",
			Status:      http.StatusBadGateway,
			Message:     "upstream sent invalid header",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.rawBackend(func(c net.Conn) {
					if readRequest(c) {
						_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Trace\x00Id: 7\r\nContent-Length: 3\r\n\r\nok\n"))
					}
				})
				if err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "tls-handshake",
			Cause:       "tls-handshake",
			Description: "proxy_pass says https:// but the backend speaks plain HTTP.",
			Status:      http.StatusBadGateway,
			Message:     "while SSL handshaking to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				return l.server("", proxyLocation("https://"+addr)), nil
			},
		},
		{
			Name:        "no-live-upstreams",
			Cause:       "no-live-upstreams",
			Description: "Both servers of a group refuse; after one failure each (max_fails=1) nginx has no server left for 30 s.",
			Status:      http.StatusBadGateway,
			Message:     "no live upstreams while connecting to upstream",
			MinRequests: 2,
			setup: func(ctx context.Context, l *Lab) (string, error) {
				var servers []string
				for range 2 {
					port, err := FreePort()
					if err != nil {
						return "", err
					}
					addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
					l.Backends = append(l.Backends, addr)
					servers = append(servers, fmt.Sprintf("    server %s max_fails=1 fail_timeout=30s;", addr))
				}
				// The zone shares failure counts between workers, so the second request sees them.
				ups := "upstream app {\n    zone app 64k;\n" + strings.Join(servers, "\n") + "\n}"
				return l.server(ups, proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "no-resolver",
			Cause:       "no-resolver",
			Description: "proxy_pass uses a variable host name, which nginx resolves at request time, and no resolver is set.",
			Status:      http.StatusBadGateway,
			Message:     "no resolver defined to resolve nosuch.example",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				l.Backends = []string{"nosuch.example:80"}
				return l.server("", "set $backend_host nosuch.example;\n\n"+proxyLocation("http://$backend_host")), nil
			},
		},
		{
			Name:        "dns-failure",
			Cause:       "dns-failure",
			Description: "The resolver answers that the backend's host name does not exist (NXDOMAIN).",
			Status:      http.StatusBadGateway,
			Message:     "api.nosuch.test could not be resolved (3: Host not found)",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				dns, err := l.serveDNS()
				if err != nil {
					return "", err
				}
				l.Backends = []string{"api.nosuch.test:8080"}
				return l.server("", fmt.Sprintf(`resolver %s valid=10s ipv6=off;
resolver_timeout 2s;
set $backend_host api.nosuch.test;

%s`, dns, proxyLocation("http://$backend_host:8080"))), nil
			},
		},
		{
			Name:        "firewall-blocked",
			Cause:       "firewall-blocked",
			Description: "A healthy backend behind an iptables rule that rejects nginx's connections (host unreachable).",
			Status:      http.StatusBadGateway,
			Message:     "(113: No route to host) while connecting to upstream",
			NeedsRoot:   true,
			rootReason:  "adding an iptables rule needs CAP_NET_ADMIN",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				_, port, _ := net.SplitHostPort(addr)
				p, _ := strconv.Atoi(port)
				if err := l.reject(ctx, p); err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "firewall-blocked-drop",
			Cause:       "firewall-blocked",
			Description: "A healthy backend behind an iptables rule that silently drops nginx's connections, so they time out (proxy_connect_timeout 1s).",
			Status:      http.StatusGatewayTimeout,
			Message:     "upstream timed out (110: Connection timed out) while connecting to upstream",
			NeedsRoot:   true,
			rootReason:  "adding an iptables rule needs CAP_NET_ADMIN",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				_, port, _ := net.SplitHostPort(addr)
				p, _ := strconv.Atoi(port)
				if err := l.firewall(ctx, p, "DROP"); err != nil {
					return "", err
				}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app", "proxy_connect_timeout 1s;")), nil
			},
		},
		{
			Name:        "backend-overloaded",
			Cause:       "backend-overloaded",
			Description: "The backend's listen queue is full, so new connections wait until proxy_connect_timeout (1 s) ends them.",
			Status:      http.StatusGatewayTimeout,
			Message:     "upstream timed out (110: Connection timed out) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.overloadedListener()
				if err != nil {
					return "", err
				}
				l.Backends = []string{addr}
				l.Listeners = []string{addr}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app", "proxy_connect_timeout 1s;")), nil
			},
		},
		{
			Name:        "config-not-loaded",
			Cause:       "config-not-loaded",
			Description: "The app moved to another port and the site file was fixed, but nginx was not reloaded: it still connects to the old port.",
			Status:      http.StatusBadGateway,
			Message:     "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				old, err := FreePort()
				if err != nil {
					return "", err
				}
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				l.moved = addr
				return l.server("", proxyLocation("http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(old)))), nil
			},
			after: func(ctx context.Context, l *Lab) error {
				// Later than the workers' start, as a person's edit is: a
				// process's start time is known to about a second.
				if err := sleepCtx(ctx, 2100*time.Millisecond); err != nil {
					return err
				}
				return os.WriteFile(l.Site, []byte(l.server("", proxyLocation("http://"+l.moved))), 0o644)
			},
		},
		{
			Name:        "reload-failed",
			Cause:       "config-not-loaded",
			Description: "The site file was changed to the app's new port with a typo; the reload failed on an [emerg], so the old workers still use the old port.",
			Status:      http.StatusBadGateway,
			Message:     "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				old, err := FreePort()
				if err != nil {
					return "", err
				}
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				l.moved = addr
				return l.server("", proxyLocation("http://"+net.JoinHostPort("127.0.0.1", strconv.Itoa(old)))), nil
			},
			after: func(ctx context.Context, l *Lab) error {
				if err := sleepCtx(ctx, 1100*time.Millisecond); err != nil {
					return err
				}
				site := l.server("", proxyLocation("http://"+l.moved, "proxy_read_timeout 30x;"))
				if err := os.WriteFile(l.Site, []byte(site), 0o644); err != nil {
					return err
				}
				// As the nginx.org unit reloads: SIGHUP to the master, which
				// rereads the file, logs the [emerg] and keeps the old workers.
				return l.hupRejected(ctx)
			},
		},
		{
			Name:        "one-endpoint",
			Cause:       "upstream-closed",
			Description: "The backend answers / but drops the connection for /export: only that request fails.",
			Status:      http.StatusBadGateway,
			Message:     "upstream prematurely closed connection while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/export" {
						_, _ = w.Write([]byte("ok\n"))
						return
					}
					if hj, ok := w.(http.Hijacker); ok {
						if c, _, err := hj.Hijack(); err == nil {
							c.Close()
						}
					}
				})
				if _, err := l.httpBackend("127.0.0.1:0", h); err != nil {
					return "", err
				}
				l.Path = "/export"
				return l.server(upstream("app", l.Backends[0], ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "backend-error",
			Cause:       "backend-error",
			Description: "The backend itself answers 502 (an application behind it failed); nginx passes it on and logs nothing.",
			Status:      http.StatusBadGateway,
			setup: func(ctx context.Context, l *Lab) (string, error) {
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "the app's database is down", http.StatusBadGateway)
				})
				if _, err := l.httpBackend("127.0.0.1:0", h); err != nil {
					return "", err
				}
				return l.server(upstream("app", l.Backends[0], ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:        "timeout-exact",
			Cause:       "upstream-timeout",
			Description: "proxy_read_timeout was raised to the backend's time as measured (1s), but the backend takes a little longer: still 504.",
			Status:      http.StatusGatewayTimeout,
			Message:     "upstream timed out (110: Connection timed out) while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-time.After(1050 * time.Millisecond):
						_, _ = w.Write([]byte("late\n"))
					case <-r.Context().Done():
					}
				})
				if _, err := l.httpBackend("127.0.0.1:0", slow); err != nil {
					return "", err
				}
				return l.server(upstream("app", l.Backends[0], ""), proxyLocation("http://app", "proxy_read_timeout 1s;")), nil
			},
		},
	}
}

// Find returns the scenario with that name.
func Find(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// upstream is an upstream block with one server.
func upstream(name, server, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "upstream %s {\n    server %s;\n", name, server)
	if extra != "" {
		b.WriteString("    " + extra + "\n")
	}
	b.WriteString("}")
	return b.String()
}

// httpBackend starts a Go HTTP backend and records its address.
func (l *Lab) httpBackend(addr string, h http.Handler) (string, error) {
	ln, err := l.listen(addr)
	if err != nil {
		return "", err
	}
	l.serveHTTP(ln, h)
	a := ln.Addr().String()
	l.Backends = append(l.Backends, a)
	l.Listeners = append(l.Listeners, a)
	return a, nil
}

// rawBackend starts a TCP backend on 127.0.0.1 and records its address.
func (l *Lab) rawBackend(handle func(net.Conn)) (string, error) {
	ln, err := l.listen("127.0.0.1:0")
	if err != nil {
		return "", err
	}
	l.serveRaw(ln, handle)
	a := ln.Addr().String()
	l.Backends = append(l.Backends, a)
	l.Listeners = append(l.Listeners, a)
	return a, nil
}

// portBelowBackend starts a healthy backend on PORT+1 and returns
// 127.0.0.1:PORT, where nothing listens.
//
// The pair is taken among fixed application ports (3000-8999), as a real
// backend's would be, not from the ephemeral range: a diagnosis rightly
// ignores listeners on ephemeral ports when it looks for a moved backend.
func (l *Lab) portBelowBackend() (string, error) {
	for range 50 {
		port := 3000 + rand.IntN(6000)
		probe, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // the configured port must be free so that it refuses
		}
		probe.Close()
		ln, err := l.listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		if err != nil {
			continue // taken; try another pair
		}
		l.serveHTTP(ln, okHandler())
		l.Listeners = append(l.Listeners, ln.Addr().String())
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	return "", fmt.Errorf("no free pair of ports")
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
