package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// HealthyUwsgiIni is a healthy site kept out of Scenarios() (its cause is
// none, and the per-cause loops expect one): proxy_pass http:// to a real
// uwsgi started as "uwsgi --ini app.ini", whose http-socket is set in the
// ini file, so its command line says nothing of the protocol it speaks.
// Every request through nginx gets 200.
func HealthyUwsgiIni() Scenario {
	return Scenario{
		Name:        "healthy-uwsgi-ini",
		Description: "proxy_pass http:// to uwsgi's HTTP socket, set in an ini file (uwsgi --ini app.ini): it works.",
		Status:      http.StatusOK,
		setup: func(ctx context.Context, l *Lab) (string, error) {
			addr, err := l.uwsgiIni(ctx)
			if err != nil {
				return "", err
			}
			l.Backends, l.Listeners = []string{addr}, []string{addr}
			return l.server("", proxyLocation("http://"+addr)), nil
		},
	}
}

// uwsgiIni runs a real uwsgi (no language plugin) from DIR/app.ini with an
// http-socket on a free loopback port; its internal router answers l.Path.
func (l *Lab) uwsgiIni(ctx context.Context) (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(l.Dir, "uwsgi.log")
	ini := filepath.Join(l.Dir, "app.ini")
	// One page answers 200 and anything else 404 (as in uwsgi()): labs
	// running side by side never take this uwsgi for their moved backend.
	l.Path = "/" + filepath.Base(l.Dir) + ".txt"
	text := fmt.Sprintf("[uwsgi]\nhttp-socket = %s\nroute = ^%s$ return:200\nroute-run = return:404\nprocesses = 1\nlogto = %s\n",
		addr, regexp.QuoteMeta(l.Path), logPath)
	if err := os.WriteFile(ini, []byte(text), 0o644); err != nil {
		return "", err
	}
	if err := l.runUwsgi(ctx, addr, logPath, "--ini", ini); err != nil {
		return "", err
	}
	return addr, nil
}
