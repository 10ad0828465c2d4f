package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
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
	bin, err := exec.LookPath("uwsgi")
	if err != nil {
		return "", fmt.Errorf("uwsgi not found (install uwsgi-core): %w", err)
	}
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
	c, err := l.spawn(bin, "--ini", ini)
	if err != nil {
		return "", err
	}
	// SIGINT: uwsgi stops at once (SIGTERM would make it reload).
	l.addCloser(func() error { return stopChild(c, syscall.SIGINT) })
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !listening(addr) {
		select {
		case <-c.done:
			logText, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("uwsgi exited: %v\n%s\n%s", c.err, tail(c.output.String(), 10), tail(string(logText), 10))
		case <-ctx.Done():
			return "", fmt.Errorf("uwsgi did not listen at %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
	return addr, nil
}
