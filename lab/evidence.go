package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// PrivateHostsLocalhost is the /etc/hosts the wrong-address-family
// scenario needs: ::1 first for localhost, as some images ship it. Tests
// put it in place only in a private mount namespace (labtest.PrivateHosts).
const PrivateHostsLocalhost = "::1 localhost ip6-localhost ip6-loopback\n127.0.0.1 localhost\n"

// evidenceScenarios are the incidents where the evidence must go as deep as
// nginx's own attempt: every address of a name, who listens, php-fpm's
// pool, nginx's own files, a moved backend, a blind error log.
func evidenceScenarios() []Scenario {
	return []Scenario{
		{
			Name:  "wrong-address-family",
			Cause: "wrong-address",
			Description: "proxy_pass http://localhost:PORT with ::1 first for localhost; the backend listens on 127.0.0.1 only, " +
				"so every request nginx sends to [::1] is refused (proxy_next_upstream off: no retry hides it).",
			Status:       http.StatusBadGateway,
			Message:      "connect() failed (111: Connection refused) while connecting to upstream",
			MinRequests:  4,
			Intermittent: true,
			Hosts:        PrivateHostsLocalhost,
			setup: func(ctx context.Context, l *Lab) (string, error) {
				if err := localhostV6First(ctx); err != nil {
					return "", err
				}
				addr, err := l.httpBackend("127.0.0.1:0", okHandler())
				if err != nil {
					return "", err
				}
				_, port, _ := net.SplitHostPort(addr)
				if c, err := net.DialTimeout("tcp", net.JoinHostPort("::1", port), time.Second); err == nil {
					c.Close()
					return "", fmt.Errorf("[::1]:%s is taken by another program", port)
				}
				l.Backends = []string{"localhost:" + port}
				return l.server("", proxyLocation("http://localhost:"+port, "proxy_next_upstream off;")), nil
			},
		},
		{
			Name:  "invalid-response-fastcgi",
			Cause: "invalid-response",
			Description: "proxy_pass http:// points at php-fpm's TCP port: nginx speaks HTTP to a FastCGI server, " +
				"which drops the connection (104: Connection reset by peer).",
			Status:  http.StatusBadGateway,
			Message: "(104: Connection reset by peer) while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				port, err := FreePort()
				if err != nil {
					return "", err
				}
				addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
				if _, err := l.phpPool(ctx, addr, "pm = static\npm.max_children = 2\n"); err != nil {
					return "", err
				}
				l.Backends, l.Listeners = []string{addr}, []string{addr}
				return l.server("", proxyLocation("http://"+addr)), nil
			},
		},
		{
			Name:  "invalid-response-uwsgi",
			Cause: "invalid-response",
			Description: "proxy_pass http:// points at uwsgi's uwsgi-protocol socket (--socket): uwsgi reads nginx's \"GET \" " +
				"as a packet header, logs \"invalid request block size\" and closes the connection.",
			Status:  http.StatusBadGateway,
			Message: "upstream prematurely closed connection while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.uwsgi(ctx, "--socket")
				if err != nil {
					return "", err
				}
				l.Backends, l.Listeners = []string{addr}, []string{addr}
				return l.server("", proxyLocation("http://"+addr)), nil
			},
		},
		{
			Name:  "invalid-response-uwsgi-http",
			Cause: "invalid-response",
			Description: "uwsgi_pass points at uwsgi's HTTP socket (--http-socket): uwsgi waits for an HTTP request line " +
				"that never comes and closes the connection after its socket timeout.",
			Status:  http.StatusBadGateway,
			Message: "upstream prematurely closed connection while reading response header from upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				addr, err := l.uwsgi(ctx, "--http-socket")
				if err != nil {
					return "", err
				}
				l.Backends, l.Listeners = []string{addr}, []string{addr}
				return l.server("", "location / {\n    include uwsgi_params;\n    uwsgi_pass "+addr+";\n}"), nil
			},
		},
		{
			Name:  "backend-overloaded-fpm",
			Cause: "backend-overloaded",
			Description: "php-fpm's pool has pm.max_children = 1 and listen.backlog = 1, and a page takes 2 s: " +
				"under a few requests at once the socket's queue is full and nginx gets (11: Resource temporarily unavailable).",
			Status:       http.StatusBadGateway,
			Message:      "(11: Resource temporarily unavailable) while connecting to upstream",
			NeedsRoot:    true,
			rootReason:   "php-fpm runs its pool as www-data, as nginx's workers do",
			Concurrency:  8,
			Intermittent: true,
			setup: func(ctx context.Context, l *Lab) (string, error) {
				sock := filepath.Join(l.Dir, "run", "php-fpm.sock")
				// ondemand, not static: only dynamic and ondemand pools make
				// php-fpm warn that they reached their max_children.
				pool := "listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\nlisten.backlog = 1\n" +
					"pm = ondemand\npm.max_children = 1\n"
				if _, err := l.phpPool(ctx, sock, pool); err != nil {
					return "", err
				}
				if err := os.WriteFile(filepath.Join(l.Dir, "www", "slow.php"), []byte("<?php usleep(2000000); echo \"ok\\n\";\n"), 0o644); err != nil {
					return "", err
				}
				l.Backends, l.Listeners = []string{"unix:" + sock}, []string{"unix:" + sock}
				l.Path = "/slow.php"
				return l.server("", phpLocations(l.Dir, "unix:"+sock)), nil
			},
		},
		{
			Name:  "nginx-resources-nofile",
			Cause: "nginx-resources",
			Description: "One worker with worker_rlimit_nofile 32 (and worker_connections 768 above it): a burst of 24 requests " +
				"to a backend that takes a second holds a client and an upstream descriptor each, so the worker runs out of " +
				"open files and answers 500 for those whose upstream socket() fails (24: Too many open files).",
			Status:       http.StatusInternalServerError,
			Message:      "(24: Too many open files)",
			Concurrency:  24,
			Intermittent: true,
			main:         []string{"worker_processes 1;", "worker_rlimit_nofile 32;"},
			setup:        slowBackendSite,
		},
		{
			Name:  "nginx-resources-connections",
			Cause: "nginx-resources",
			Description: "One worker with worker_connections 16: a burst of 24 requests to a backend that takes a second needs two " +
				"connections each (client and upstream), so nginx logs \"worker_connections are not enough\" and closes the " +
				"clients' connections without an answer (no 5xx, no access-log line).",
			Status: 0,
			// The closed connections leave no access-log line: only the
			// requests that got through are there.
			AccessStatus: "200",
			Message:      "worker_connections are not enough",
			Concurrency:  24,
			Intermittent: true,
			main:         []string{"worker_processes 1;"},
			events:       "worker_connections 16;",
			setup:        slowBackendSite,
		},
		{
			Name:  "nginx-file-access",
			Cause: "nginx-file-access",
			Description: "nginx caches the response and writes it to a temp file under proxy_temp_path first, " +
				"under a directory (root 0700) its www-data workers cannot enter: nginx logs open() failed (13) and closes the " +
				"connection without an answer, while its access log says 200.",
			Status:       0,
			AccessStatus: "200",
			Message:      "failed (13: Permission denied) while reading upstream",
			NeedsRoot:    true,
			rootReason:   "the workers must run as www-data while the temp directory's parent belongs to root",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				private := filepath.Join(l.Dir, "private")
				if err := os.Mkdir(private, 0o700); err != nil {
					return "", err
				}
				// A cacheable answer is written to a temp file under
				// proxy_temp_path first (use_temp_path=on), whatever its
				// size; bypassing the cache makes every request do it again.
				big := strings.Repeat("0123456789abcdef", 1<<12)
				addr, err := l.httpBackend("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/plain")
					w.Header().Set("Cache-Control", "max-age=60")
					_, _ = w.Write([]byte(big))
				}))
				if err != nil {
					return "", err
				}
				l.Backends = []string{addr}
				cache := "proxy_cache_path " + filepath.Join(l.Dir, "cache") + " keys_zone=lab:1m;"
				return l.server(cache+"\n\n"+upstream("app", addr, ""), proxyLocation("http://app", "proxy_temp_path "+private+"/proxy;",
					"proxy_cache lab;", "proxy_cache_bypass 1;")), nil
			},
		},
		{
			Name:  "wrong-address-moved",
			Cause: "wrong-address",
			Description: "The backend (php's built-in server) moved to an ephemeral port; nginx still points at the old port, " +
				"where nothing listens, while an unrelated program one port above answers 404.",
			Status:  http.StatusBadGateway,
			Message: "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				wrong, err := l.portBelowOther()
				if err != nil {
					return "", err
				}
				moved, err := l.phpServer(ctx)
				if err != nil {
					return "", err
				}
				l.Backends = []string{wrong}
				l.Listeners = append(l.Listeners, moved)
				return l.server(upstream("app", wrong, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:  "backend-down-beside-unrelated",
			Cause: "backend-down",
			Description: "The backend is stopped; one port above, an unrelated program listens and answers 404: " +
				"it must not be taken for the backend.",
			Status:  http.StatusBadGateway,
			Message: "connect() failed (111: Connection refused) while connecting to upstream",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				wrong, err := l.portBelowOther()
				if err != nil {
					return "", err
				}
				l.Backends = []string{wrong}
				return l.server(upstream("app", wrong, ""), proxyLocation("http://app")), nil
			},
		},
		{
			Name:  "blind-error-log",
			Cause: "backend-down",
			Description: "error_log is at crit, so nginx writes nothing about the refused connections; " +
				"only the access log's 502s and a probe show what happens.",
			Status:     http.StatusBadGateway,
			ErrorLevel: "crit",
			setup: func(ctx context.Context, l *Lab) (string, error) {
				port, err := FreePort()
				if err != nil {
					return "", err
				}
				addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
				l.Backends = []string{addr}
				return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
			},
		},
	}
}

// slowBackendSite proxies to a Go backend that answers after a second,
// so that a burst holds its connections at once.
func slowBackendSite(ctx context.Context, l *Lab) (string, error) {
	addr, err := l.httpBackend("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	}))
	if err != nil {
		return "", err
	}
	return l.server(upstream("app", addr, ""), proxyLocation("http://app")), nil
}

// localhostV6First checks that this process's resolver puts ::1 first for
// localhost, as the scenario's /etc/hosts does.
func localhostV6First(ctx context.Context) error {
	addrs, err := net.DefaultResolver.LookupHost(ctx, "localhost")
	if err != nil || len(addrs) < 2 || addrs[0] != "::1" {
		return fmt.Errorf("localhost resolves to %v, want ::1 first: run it with /etc/hosts replaced in a private mount namespace (labtest.PrivateHosts)", addrs)
	}
	return nil
}

// PoolAtLimit waits until php-fpm has logged that the lab's pool reached
// pm.max_children, sending another burst now and then: php-fpm warns once,
// from its own loop, when a connection waits while every child is busy,
// and on a loaded machine a burst may pass without one. False when it
// never does.
func (l *Lab) PoolAtLimit(ctx context.Context) bool {
	logPath := filepath.Join(l.Dir, "php-fpm.log")
	for range 4 {
		for range 30 {
			if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "reached max_children") {
				return true
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(100 * time.Millisecond):
			}
		}
		l.Trigger(ctx, 4)
	}
	return false
}

// phpLocations serve DIR/www with PHP through fastcgi_pass to target.
func phpLocations(dir, target string) string {
	return fmt.Sprintf(`root %s/www;
index index.php index.html;

location / {
    try_files $uri $uri/ =404;
}

location ~ \.php$ {
    include fastcgi_params;
    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
    fastcgi_pass %s;
}`, dir, target)
}

// phpPool runs a real php-fpm with one pool "lab" listening at listen (a
// socket path or host:port) with the extra pool settings, and waits until
// it listens. Its log is DIR/php-fpm.log.
func (l *Lab) phpPool(ctx context.Context, listen, extra string) (string, error) {
	bin := "/usr/sbin/php-fpm8.2"
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("php-fpm not found (install php8.2-fpm): %w", err)
	}
	conf := filepath.Join(l.Dir, "php-fpm.conf")
	logPath := filepath.Join(l.Dir, "php-fpm.log")
	user := ""
	if os.Geteuid() == 0 {
		user = "user = www-data\ngroup = www-data\n"
	}
	text := fmt.Sprintf("; ngxdoctor lab: php-fpm for %s\n[global]\npid = %s/run/php-fpm.pid\nerror_log = %s\ndaemonize = no\n\n[lab]\n%slisten = %s\n%s",
		l.Scenario.Name, l.Dir, logPath, user, listen, extra)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", err
	}
	l.PHPFPM = conf
	if err := os.WriteFile(filepath.Join(l.Dir, "www", "index.php"), []byte("<?php echo \"ok\\n\";\n"), 0o644); err != nil {
		return "", err
	}
	c, err := l.spawn(bin, "-F", "-y", conf, "-p", l.Dir)
	if err != nil {
		return "", err
	}
	l.addCloser(func() error { return stopChild(c, syscall.SIGQUIT) })
	ready := func() bool {
		if strings.HasPrefix(listen, "/") {
			fi, err := os.Stat(listen)
			return err == nil && fi.Mode()&os.ModeSocket != 0
		}
		return listening(listen)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ready() {
		why := ""
		select {
		case <-c.done:
			why = fmt.Sprintf("php-fpm exited: %v", c.err)
		case <-ctx.Done():
			why = fmt.Sprintf("php-fpm did not listen at %s: %v", listen, ctx.Err())
		case <-tick.C:
			continue
		}
		logText, _ := os.ReadFile(logPath)
		return "", fmt.Errorf("%s\n%s\n%s", why, tail(c.output.String(), 10), tail(string(logText), 10))
	}
	return listen, nil
}

// uwsgi runs a real uwsgi (uwsgi-core, no language plugin) on a free
// loopback port, listening with the given option (--socket: the uwsgi
// protocol; --http-socket: HTTP). Its internal router answers one page,
// named after the lab's directory (l.Path asks for it), with 200 OK and
// anything else with 404, so that the protocol alone decides here and labs
// running side by side never take it for their moved backend. Its log is
// DIR/uwsgi.log.
func (l *Lab) uwsgi(ctx context.Context, option string) (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(l.Dir, "uwsgi.log")
	// --socket-timeout 1: the HTTP socket gives up on nginx's uwsgi packet
	// after a second instead of four.
	l.Path = "/" + filepath.Base(l.Dir) + ".txt"
	route := "^" + regexp.QuoteMeta(l.Path) + "$ return:200"
	if err := l.runUwsgi(ctx, addr, logPath, option, addr, "--route", route, "--route-run", "return:404", "--processes", "1", "--socket-timeout", "1", "--logto", logPath); err != nil {
		return "", err
	}
	return addr, nil
}

// runUwsgi starts uwsgi with args and waits until it listens at addr; its
// log (logPath) is quoted when it exits first.
func (l *Lab) runUwsgi(ctx context.Context, addr, logPath string, args ...string) error {
	bin, err := exec.LookPath("uwsgi")
	if err != nil {
		return fmt.Errorf("uwsgi not found (install uwsgi-core): %w", err)
	}
	c, err := l.spawn(bin, args...)
	if err != nil {
		return err
	}
	// SIGINT: uwsgi stops at once (SIGTERM would make it reload).
	l.addCloser(func() error { return stopChild(c, syscall.SIGINT) })
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !listening(addr) {
		select {
		case <-c.done:
			logText, _ := os.ReadFile(logPath)
			return fmt.Errorf("uwsgi exited: %v\n%s\n%s", c.err, tail(c.output.String(), 10), tail(string(logText), 10))
		case <-ctx.Done():
			return fmt.Errorf("uwsgi did not listen at %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// phpServer runs php's built-in web server on an ephemeral loopback port,
// an application server that no config references. It serves one page,
// named after the lab's directory, and l.Path asks for it: any other
// request, such as another lab's, gets a 404, so labs running side by side
// never take this one for their backend.
func (l *Lab) phpServer(ctx context.Context) (string, error) {
	bin, err := exec.LookPath("php")
	if err != nil {
		return "", fmt.Errorf("php not found (php8.2-cli comes with php8.2-fpm): %w", err)
	}
	root := filepath.Join(l.Dir, "moved")
	if err := os.Mkdir(root, 0o755); err != nil {
		return "", err
	}
	page := filepath.Base(l.Dir) + ".php"
	if err := os.WriteFile(filepath.Join(root, page), []byte("<?php echo \"ok\\n\";\n"), 0o644); err != nil {
		return "", err
	}
	l.Path = "/" + page
	for range 5 {
		port, err := FreePort()
		if err != nil {
			return "", err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c, err := l.spawn(bin, "-S", addr, "-t", root)
		if err != nil {
			return "", err
		}
		l.addCloser(func() error { return stopChild(c, syscall.SIGTERM) })
		deadline := time.NewTimer(5 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		for !listening(addr) {
			select {
			case <-c.done:
			case <-deadline.C:
			case <-ctx.Done():
				tick.Stop()
				return "", ctx.Err()
			case <-tick.C:
				continue
			}
			break
		}
		tick.Stop()
		deadline.Stop()
		if listening(addr) {
			return addr, nil
		}
		// Another program took the port in between: try another.
	}
	return "", fmt.Errorf("php -S did not start")
}

// portBelowOther returns 127.0.0.1:PORT, where nothing listens, with an
// unrelated Go server answering 404 to everything on PORT+1. The ports are
// fixed application ports (3000-8999), as a real backend's would be.
func (l *Lab) portBelowOther() (string, error) {
	for range 50 {
		port := 3000 + rand.IntN(6000)
		probe, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		probe.Close()
		ln, err := l.listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		if err != nil {
			continue
		}
		l.serveHTTP(ln, http.NotFoundHandler())
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
	}
	return "", fmt.Errorf("no free pair of ports")
}
