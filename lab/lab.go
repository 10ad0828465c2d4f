// Package lab runs a real nginx on loopback in front of a deliberately
// broken backend, one scenario per cause of a 502/504, so that the
// diagnosis, the fixes and the TUI are tested against what nginx really
// logs, and so that a person can practise on a live incident.
//
// Everything a lab starts (nginx, php-fpm, Go backends, an iptables rule)
// lives until Close, which removes all of it, including the temp directory.
// The package does not import "testing": the training lab uses it too.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lab is one running scenario.
type Lab struct {
	Dir        string   // temp dir holding everything (0755 so the workers can traverse it)
	Nginx      string   // nginx binary used
	Config     string   // main config path
	ErrorLog   string   // nginx error log (level info)
	AccessLog  string   // nginx access log (combined)
	Addr       string   // "127.0.0.1:PORT" nginx listens on
	Path       string   // the location that shows the scenario's failure, e.g. "/"
	Backends   []string // the backend addresses/sockets the config points at
	Listeners  []string // where the lab's own backends really listen (differs from Backends for wrong-address)
	WorkerUser string   // user the workers run as ("www-data" when root, else the current user)
	Site       string   // the site file holding the server block (DIR/sites-enabled/app.conf)
	PHPFPM     string   // php-fpm's config (pool included) when the scenario runs php-fpm, else ""
	// moved is where the backend listens now when the running nginx was
	// told another address (config-not-loaded, reload-failed).
	moved string

	Scenario Scenario

	mu      sync.Mutex
	closers []func() error // undo steps, run in reverse order by Close
	groups  []int          // process groups of the children we started
	nginx   *child
	closed  bool
}

// child is a long-running process the lab started in its own process group.
type child struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when Wait returns
	err    error         // Wait's result, valid after done
	output *syncBuffer   // stdout and stderr
}

// syncBuffer lets us read a child's output while exec's copier goroutine writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const (
	startLimit   = 15 * time.Second // a bound on Start when ctx has no deadline
	requestLimit = 10 * time.Second // a bound on one request when ctx has no deadline
	stopGrace    = 5 * time.Second  // how long a child gets to exit on its own
)

// Start writes the scenario's config, starts its backends and nginx, and
// returns when nginx accepts connections. On any failure everything started
// so far is stopped again.
func Start(ctx context.Context, s Scenario) (*Lab, error) {
	if s.setup == nil {
		return nil, fmt.Errorf("lab: unknown scenario %q", s.Name)
	}
	if s.NeedsRoot && os.Geteuid() != 0 {
		return nil, fmt.Errorf("lab: scenario %s needs root: %s", s.Name, s.rootReason)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startLimit)
		defer cancel()
	}
	bin, err := findNginx()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ngxdoctor-lab-"+s.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	l := &Lab{
		Dir:       dir,
		Nginx:     bin,
		Config:    filepath.Join(dir, "nginx.conf"),
		ErrorLog:  filepath.Join(dir, "error.log"),
		AccessLog: filepath.Join(dir, "access.log"),
		Site:      filepath.Join(dir, "sites-enabled", "app.conf"),
		Path:      "/",
		Scenario:  s,
	}
	l.WorkerUser = workerUser()
	if err := l.start(ctx); err != nil {
		if cerr := l.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, fmt.Errorf("lab: start %s: %w", s.Name, err)
	}
	return l, nil
}

func (l *Lab) start(ctx context.Context) error {
	// The workers (www-data) must traverse the dir to reach the php files
	// and sockets; MkdirTemp makes it 0700.
	if err := os.Chmod(l.Dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"sites-enabled", "run", "www", "tmp"} {
		if err := os.Mkdir(filepath.Join(l.Dir, d), 0o755); err != nil {
			return err
		}
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	l.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	site, err := l.Scenario.setup(ctx, l)
	if err != nil {
		return err
	}
	files := map[string]string{
		l.Config:                               l.mainConfig(),
		l.Site:                                 site,
		filepath.Join(l.Dir, "fastcgi_params"): fastcgiParams,
		filepath.Join(l.Dir, "uwsgi_params"):   uwsgiParams,
	}
	for path, text := range files {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return err
		}
	}
	if err := l.startNginx(ctx); err != nil {
		return err
	}
	if l.Scenario.after != nil {
		return l.Scenario.after(ctx, l)
	}
	return nil
}

// startNginx runs nginx in the foreground (daemon off in the config) as our
// child, so that its exit is noticed and its process group can be killed.
func (l *Lab) startNginx(ctx context.Context) error {
	c, err := l.spawn(l.Nginx, "-c", l.Config, "-p", l.Dir+"/")
	if err != nil {
		return err
	}
	l.nginx = c
	l.addCloser(func() error { return stopChild(c, syscall.SIGTERM) })

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// nginx writes its pid file after binding its sockets, so our pid in
		// it means the listener is nginx's and not a program that took the
		// port first. No probe connection: it would log "client closed
		// connection" in the error log.
		if l.pidFileIs(c.cmd.Process.Pid) && listening(l.Addr) {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("nginx exited: %v%s", c.err, l.diagnostics(c))
		case <-ctx.Done():
			return fmt.Errorf("nginx not listening on %s: %w%s", l.Addr, ctx.Err(), l.diagnostics(c))
		case <-tick.C:
		}
	}
}

func (l *Lab) pidFileIs(pid int) bool {
	data, err := os.ReadFile(filepath.Join(l.Dir, "nginx.pid"))
	return err == nil && strings.TrimSpace(string(data)) == strconv.Itoa(pid)
}

// diagnostics is what a person needs to see when nginx would not start.
func (l *Lab) diagnostics(c *child) string {
	var b strings.Builder
	if out := strings.TrimSpace(c.output.String()); out != "" {
		fmt.Fprintf(&b, "\nnginx output:\n%s", tail(out, 20))
	}
	if data, err := os.ReadFile(l.ErrorLog); err == nil && len(data) > 0 {
		fmt.Fprintf(&b, "\n%s (tail):\n%s", l.ErrorLog, tail(string(data), 20))
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// spawn starts a long-running child in its own process group. It uses
// exec.Command, not CommandContext: the child must outlive Start's context
// and is stopped by Close instead.
func (l *Lab) spawn(name string, args ...string) (*child, error) {
	cmd := exec.Command(name, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Dir = l.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{}), output: out}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	l.mu.Lock()
	l.groups = append(l.groups, cmd.Process.Pid)
	l.mu.Unlock()
	return c, nil
}

// stopChild asks the child to stop, then kills its whole group (workers
// included) if it or any of its children is still there.
func stopChild(c *child, sig syscall.Signal) error {
	pid := c.cmd.Process.Pid
	select {
	case <-c.done:
	default:
		_ = syscall.Kill(pid, sig)
		select {
		case <-c.done:
		case <-time.After(stopGrace):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-c.done:
			case <-time.After(stopGrace):
				return fmt.Errorf("process %d did not exit", pid)
			}
		}
	}
	// Workers outlive a killed master; the group is only signalled while it
	// has members, so a reused id is never hit.
	deadline := time.Now().Add(stopGrace)
	for len(groupMembers(pid)) > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of group %d still running: %v", pid, groupMembers(pid))
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// Processes lists the live (non-zombie) processes the lab started: nginx
// master and workers, php-fpm master and children. Empty after Close.
func (l *Lab) Processes() []int {
	l.mu.Lock()
	groups := append([]int(nil), l.groups...)
	l.mu.Unlock()
	var pids []int
	for _, g := range groups {
		pids = append(pids, groupMembers(g)...)
	}
	return pids
}

// StopNginx stops the lab's nginx (master and workers) and leaves its
// config, logs and backends in place: a config whose nginx is stopped.
// Close still cleans up everything.
func (l *Lab) StopNginx() error {
	if l.nginx == nil {
		return nil
	}
	return stopChild(l.nginx, syscall.SIGTERM)
}

// Workers are the nginx master's live workers (a reload replaces them).
func (l *Lab) Workers() map[int]bool { return l.workers() }

// NginxPID is the nginx master's pid.
func (l *Lab) NginxPID() int {
	if l.nginx == nil {
		return 0
	}
	return l.nginx.cmd.Process.Pid
}

// groupMembers reads /proc for live processes whose process group is pgid.
func groupMembers(pgid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := procStat(pid)
		if ok && st.pgrp == pgid && st.state != "Z" && st.state != "X" {
			pids = append(pids, pid)
		}
	}
	return pids
}

type stat struct {
	state      string
	ppid, pgrp int
}

func procStat(pid int) (stat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// The command name may hold spaces and parentheses; fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 3 {
		return stat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	pgrp, _ := strconv.Atoi(f[2])
	return stat{state: f[0], ppid: ppid, pgrp: pgrp}, true
}

// workers are the nginx master's live children.
func (l *Lab) workers() map[int]bool {
	master := l.NginxPID()
	w := map[int]bool{}
	for _, pid := range groupMembers(master) {
		if st, ok := procStat(pid); ok && st.ppid == master {
			w[pid] = true
		}
	}
	return w
}

func (l *Lab) addCloser(f func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, f)
}

// Close stops nginx, the backends and php-fpm, removes the iptables rules
// and the directory. It does all of it even when a step fails, and may be
// called more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	closers := l.closers
	l.closers = nil
	l.mu.Unlock()

	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	if l.Dir != "" {
		if err := os.RemoveAll(l.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: close %s: %w", l.Scenario.Name, err)
	}
	return nil
}

// Get makes one HTTP GET through nginx (Host: lab.test) and returns the
// status. Without a deadline in ctx it gives up after 10 s.
func (l *Lab) Get(ctx context.Context, path string) (int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, requestLimit)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.Addr+path, nil)
	if err != nil {
		return 0, err
	}
	req.Host = "lab.test"
	req.Header.Set("User-Agent", "ngxdoctor-lab")
	client := &http.Client{
		// A fresh connection per request: a kept-alive one would hold an old
		// worker alive across a reload.
		Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// Trigger makes n requests to l.Path one after another (at least as many as
// the scenario needs to show its failure, e.g. 2 for no-live-upstreams; all
// at once for a scenario with Concurrency) so that the logs get their
// lines. A request that fails gets status 0.
func (l *Lab) Trigger(ctx context.Context, n int) []int {
	n = max(n, l.Scenario.MinRequests)
	if c := l.Scenario.Concurrency; c > 1 {
		// All at once: what shows only under load.
		n = max(n, c)
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { statuses[i], _ = l.Get(ctx, l.Path) })
		}
		wg.Wait()
		return statuses
	}
	statuses := make([]int, 0, n)
	for range n {
		if ctx.Err() != nil {
			break
		}
		st, _ := l.Get(ctx, l.Path)
		statuses = append(statuses, st)
	}
	return statuses
}

// Reload runs `nginx -s reload` for the lab's config and waits until new
// workers have replaced the old ones and nginx accepts connections. A config
// that nginx rejects is an error holding nginx's message.
func (l *Lab) Reload(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startLimit)
		defer cancel()
	}
	if l.nginx == nil {
		return errors.New("lab: nginx not started")
	}
	old := l.workers()
	var offset int64
	if fi, err := os.Stat(l.ErrorLog); err == nil {
		offset = fi.Size()
	}
	out, err := exec.CommandContext(ctx, l.Nginx, "-s", "reload", "-c", l.Config, "-p", l.Dir+"/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("lab: nginx -s reload: %w: %s", err, strings.TrimSpace(string(out)))
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	fresh := false
	for {
		select {
		case <-l.nginx.done:
			return fmt.Errorf("lab: nginx exited during reload%s", l.diagnostics(l.nginx))
		case <-ctx.Done():
			return fmt.Errorf("lab: reload not finished: %w%s", ctx.Err(), l.diagnostics(l.nginx))
		case <-tick.C:
		}
		if msg := emergSince(l.ErrorLog, offset); msg != "" {
			return fmt.Errorf("lab: reload rejected: %s", msg)
		}
		now := l.workers()
		if !fresh {
			for pid := range now {
				if !old[pid] {
					fresh = true
				}
			}
			continue
		}
		stale := false
		for pid := range now {
			if old[pid] {
				stale = true
			}
		}
		if !stale && listening(l.Addr) {
			return nil
		}
	}
}

// hupRejected sends SIGHUP to the lab's master and waits for the [emerg]
// with which nginx refuses the new config.
func (l *Lab) hupRejected(ctx context.Context) error {
	var offset int64
	if fi, err := os.Stat(l.ErrorLog); err == nil {
		offset = fi.Size()
	}
	if err := l.nginx.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("lab: SIGHUP: %w", err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("lab: no [emerg] after SIGHUP: %w", ctx.Err())
		case <-tick.C:
		}
		if emergSince(l.ErrorLog, offset) != "" {
			return nil
		}
	}
}

// listening reports whether /proc/net/tcp has a listener on addr (an IPv4
// "127.0.0.1:PORT").
func listening(addr string) bool {
	host, portText, err := net.SplitHostPort(addr)
	ip := net.ParseIP(host).To4()
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || ip == nil {
		return false
	}
	// The kernel writes the address as a little-endian hex word, the port big-endian.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], port)
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" { // 0A: TCP_LISTEN
			return true
		}
	}
	return false
}

// emergSince returns the first [emerg] line written to the log after offset.
func emergSince(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.Contains(line, "[emerg]") {
			return line
		}
	}
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("lab: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func findNginx() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	// Debian puts nginx in /usr/sbin, which is not on every user's PATH.
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", errors.New("lab: nginx not found (install nginx-light)")
}

// workerUser is who the workers run as: as root nginx switches to the
// `user` we write (www-data, as on Debian); otherwise it cannot switch.
func workerUser() string {
	if os.Geteuid() == 0 {
		return "www-data"
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Geteuid())
}
