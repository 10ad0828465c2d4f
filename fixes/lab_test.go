package fixes

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// A private nginx on loopback for the integration tests: the config is
// written into a temp dir and nginx runs in the foreground as our child.

const nginxBin = "/usr/sbin/nginx"

// needRoot skips a test that needs root and a real nginx, except in CI,
// where a missing prerequisite must fail the run instead of hiding it.
func needRoot(t *testing.T, bins ...string) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, b := range append([]string{nginxBin}, bins...) {
		if _, err := os.Stat(b); err != nil {
			missing = append(missing, b)
		}
	}
	labtest.Need(t, len(missing) == 0, "needs "+strings.Join(missing, ", ")+" (the fixes change files, sockets and a running nginx)")
}

// worldDir is a temp dir the nginx and php-fpm workers (www-data, nobody)
// may traverse; t.TempDir's parent is 0700.
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ngxdoctor-fixes-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type nginxLab struct {
	t      *testing.T
	Dir    string
	Conf   string
	Port   int
	cmd    *exec.Cmd
	Master int
}

// startNginx writes conf (with {{DIR}} and {{PORT}} filled in) and starts nginx.
func startNginx(t *testing.T, dir, http string) *nginxLab {
	t.Helper()
	return startNginxMain(t, dir, "", http)
}

// startNginxMain also takes main-context lines (user www-data;).
func startNginxMain(t *testing.T, dir, main, http string) *nginxLab {
	t.Helper()
	port := freePort(t)
	for _, d := range []string{"tmp", "conf.d"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	conf := filepath.Join(dir, "nginx.conf")
	text := main + `daemon off;
master_process on;
worker_processes 1;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log info;
events { worker_connections 64; }
http {
    access_log {{DIR}}/access.log;
    client_body_temp_path {{DIR}}/tmp/body;
    proxy_temp_path {{DIR}}/tmp/proxy;
    fastcgi_temp_path {{DIR}}/tmp/fastcgi;
    uwsgi_temp_path {{DIR}}/tmp/uwsgi;
    scgi_temp_path {{DIR}}/tmp/scgi;
` + http + `}
`
	text = strings.ReplaceAll(text, "{{DIR}}", dir)
	text = strings.ReplaceAll(text, "{{PORT}}", fmt.Sprint(port))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &nginxLab{t: t, Dir: dir, Conf: conf, Port: port}
	if out, err := exec.Command(nginxBin, "-t", "-q", "-c", conf, "-p", dir).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, text)
	}
	l.cmd = exec.Command(nginxBin, "-c", conf, "-p", dir)
	l.cmd.Stderr = os.Stderr
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.Master = l.cmd.Process.Pid
	t.Cleanup(func() {
		l.cmd.Process.Signal(syscall.SIGQUIT)
		done := make(chan struct{})
		go func() { l.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			l.cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			if len(children(l.Master)) > 0 {
				return l
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("nginx did not start")
	return nil
}

// get requests path through nginx and returns the status.
func (l *nginxLab) get(path string) int {
	l.t.Helper()
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d%s", l.Port, path))
	if err != nil {
		l.t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (l *nginxLab) wantStatus(path string, want int) {
	l.t.Helper()
	if got := l.get(path); got != want {
		l.t.Fatalf("GET %s: got %d, want %d", path, got, want)
	}
}

// at is file:line of the first line of the config containing s.
func (l *nginxLab) at(s string) string {
	l.t.Helper()
	data, err := os.ReadFile(l.Conf)
	if err != nil {
		l.t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, s) {
			return fmt.Sprintf("%s:%d", l.Conf, i+1)
		}
	}
	l.t.Fatalf("%q not in the config", s)
	return ""
}

func (l *nginxLab) pos(s string) nginx.Pos {
	file, line, _ := parsePos(l.at(s))
	return nginx.Pos{File: file, Line: line}
}

// outcome builds by hand what checks.Run would find: one server, the given
// passes, and the cause.
func (l *nginxLab) outcome(passes []nginx.Pass, causes ...checks.Cause) *checks.Outcome {
	cfg := &nginx.Config{
		Main:      l.Conf,
		Files:     []string{l.Conf},
		ErrorLogs: []nginx.LogFile{{Path: filepath.Join(l.Dir, "error.log")}},
		Servers:   []nginx.Server{{Listen: []string{fmt.Sprintf("127.0.0.1:%d", l.Port)}, At: l.pos("server {")}},
		Passes:    passes,
	}
	// The http block's include lines, as check's load of the config finds them.
	if loaded, err := nginx.Load(context.Background(), host.Live(), l.Conf); err == nil {
		cfg.HTTPIncludes = loaded.HTTPIncludes
	}
	var targets []nginx.Target
	for i, p := range passes {
		if p.Settings == nil {
			passes[i].Settings = nginx.Settings{}
		}
		targets = append(targets, nginx.Target{Address: p.Address, Passes: []int{i}})
	}
	return &checks.Outcome{
		Snapshot: &checks.Snapshot{
			Install:    nginx.Install{Binary: nginxBin, Config: l.Conf, Prefix: l.Dir, Running: true, MasterPID: int32(l.Master)},
			Config:     cfg,
			Targets:    targets,
			ConfigTest: checks.ConfigTest{Ran: true, OK: true},
		},
		Causes: causes,
	}
}

// testEngine is the live engine pointed at temp dirs, with a short watch.
func testEngine(t testing.TB) *Engine {
	e := Default()
	e.JournalDir = filepath.Join(t.TempDir(), "journal")
	e.PoolGlobs = nil
	e.SystemdRoot = ""
	e.UnitDir = t.TempDir()
	e.CronDir = t.TempDir()
	e.Watch = 300 * time.Millisecond
	e.ReloadWait = 5 * time.Second
	e.ProbeTimeout = time.Second
	return e
}

// diagnosed runs the whole check on a lab and returns the outcome and its
// first cause with the given id; it fails the test naming what was found
// instead.
func diagnosed(ctx context.Context, t *testing.T, l *lab.Lab, id checks.CauseID) (*checks.Outcome, checks.Cause) {
	t.Helper()
	o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx,
		ErrorLogs: []string{l.ErrorLog}, AccessLogs: []string{l.AccessLog}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range o.Causes {
		if c.ID == id {
			return o, c
		}
		ids = append(ids, string(c.ID))
	}
	t.Fatalf("diagnosis found %q, want %s", ids, id)
	return nil, checks.Cause{}
}

func fixByKind(t *testing.T, fs []Fix, kind string) Fix {
	t.Helper()
	var ids []string
	for _, f := range fs {
		if strings.HasSuffix(baseID(f.ID), ":"+kind) {
			return f
		}
		ids = append(ids, f.ID)
	}
	t.Fatalf("no %s fix among %q", kind, ids)
	return Fix{}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func apply(t *testing.T, e *Engine, o *checks.Outcome, f Fix) Applied {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := e.Apply(ctx, o, f, Options{Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatalf("apply %s: %v\n%s", f.ID, err, strings.Join(a.Log, "\n"))
	}
	return a
}

func undo(t *testing.T, e *Engine, id string) Applied {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := e.Undo(ctx, id)
	if err != nil {
		t.Fatalf("undo %s: %v\n%s", id, err, strings.Join(a.Log, "\n"))
	}
	return a
}
