package fixes

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// children lists the pids whose parent is pid (nginx's workers), from /proc.
func children(pid int) map[int]bool {
	out := map[int]bool{}
	if pid <= 0 {
		return out
	}
	des, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, de := range des {
		n, err := strconv.Atoi(de.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", de.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces and parentheses: fields start after the last ')'.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out[n] = true
		}
	}
	return out
}

// alive: pid runs and its command line names the program (a reused pid
// must not receive our signal).
func alive(pid int, name string) bool {
	if pid <= 0 {
		return false
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := bytes.LastIndexByte(st, ')'); i > 0 && bytes.HasPrefix(bytes.TrimSpace(st[i+1:]), []byte("Z")) {
			return false
		}
	}
	return bytes.Contains(data, []byte(name))
}

// reloadNginx signals the master (or runs nginx -s reload) and waits until
// a new worker has started: a master that rejects the new config keeps its
// old workers, so no new worker means the reload did not take.
func (e *Engine) reloadNginx(ctx context.Context, nx nginxRef, old map[int]bool, logf func(string, ...any)) error {
	// Only the master verified, just now, to run this config is signalled:
	// after a restart the journal's pid may name a worker, another nginx,
	// or nothing.
	target, err := verifiedMaster(ctx, nx)
	switch {
	case errors.Is(err, nginx.ErrNoMaster) && nx.MasterPID <= 0:
		logf("nginx is not running for %s: the change takes effect when it starts", nx.Config)
		return nil
	case err != nil:
		return fmt.Errorf("reload: nothing was signalled: %w", err)
	}
	defer target.close()
	pid := target.pid
	if pid != nx.MasterPID {
		old = children(pid)
	}
	if err := target.signal(syscall.SIGHUP); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	logf("sent HUP to the nginx master (pid %d), verified to run %s", pid, nx.Config)
	wait := e.ReloadWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	deadline := time.Now().Add(wait)
	started := 0
	for {
		cur := children(pid)
		lingering := 0
		for pid := range cur {
			if !old[pid] && started == 0 {
				started = pid
				logf("reloaded: new worker pid %d", pid)
			}
			if old[pid] {
				lingering++
			}
		}
		// Old workers still accept until the master tells them to stop: a
		// request before they are gone may meet the old config.
		if started != 0 && lingering == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if started != 0 {
				logf("%d old workers are still finishing requests", lingering)
				return nil
			}
			return fmt.Errorf("reload: no new nginx worker after %s (the master kept the old config; see its error log)", wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (e *Engine) reloadBackend(ctx context.Context, r reloadRef) error {
	if len(r.Argv) > 0 {
		out, err := e.run(ctx, r.Argv)
		return withOutput(err, out)
	}
	if !alive(r.PID, r.Name) {
		return fmt.Errorf("reload %s: pid %d is no longer %s", r.Name, r.PID, r.Name)
	}
	sig := syscall.SIGHUP
	if r.Signal == "USR2" {
		sig = syscall.SIGUSR2
	}
	if err := syscall.Kill(r.PID, sig); err != nil {
		return fmt.Errorf("reload %s: %w", r.Name, err)
	}
	// The master re-executes itself; give it a moment before probing.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !alive(r.PID, r.Name) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return nil
}

// errorLogPaths are the files nginx writes errors to (not stderr or syslog).
func errorLogPaths(o *checks.Outcome) []string {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !filepath.IsAbs(p) || strings.HasPrefix(p, "/dev/") || seen[p] {
			return
		}
		seen[p] = true
		out = append(out, p)
	}
	if o != nil && o.Snapshot != nil {
		for _, l := range o.Snapshot.ErrorLogs {
			add(l.Path)
		}
		if c := o.Snapshot.Config; c != nil {
			for _, l := range c.ErrorLogs {
				add(l.Path)
			}
		}
	}
	return out
}

func errorLogOffsets(o *checks.Outcome) map[string]int64 {
	out := map[string]int64{}
	for _, p := range errorLogPaths(o) {
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			out[p] = fi.Size()
		}
	}
	return out
}

// newLogLines reads what was appended since offset (from the start after a rotation).
func newLogLines(path string, off int64) []string {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if fi.Size() < off {
		off = 0
	}
	var lines []string
	sc := bufio.NewScanner(io.NewSectionReader(f, off, 1<<20))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// workersMayOpen checks the open-files limit of the master's workers
// started by the reload (those not in old), as /proc/PID/limits gives it
// (gopsutil): prlimit(2) on another user's process needs CAP_SYS_RESOURCE.
func workersMayOpen(ctx context.Context, master int, old map[int]bool, n uint64) error {
	seen := 0
	for pid := range children(master) {
		if old[pid] {
			continue
		}
		lims, err := (&process.Process{Pid: int32(pid)}).RlimitWithContext(ctx)
		if err != nil {
			continue // exited in between
		}
		for _, l := range lims {
			if l.Resource != process.RLIMIT_NOFILE {
				continue
			}
			seen++
			if l.Soft < n {
				return fmt.Errorf("nginx worker pid %d may open %d files, not %d", pid, l.Soft, n)
			}
		}
	}
	if seen == 0 {
		return fmt.Errorf("no new nginx worker of master %d to read the open-files limit of", master)
	}
	return nil
}

type verdict struct {
	ok, regressed bool
	reason        string
	requests      []Request
}

// failedBefore are the cause's requests through nginx that failed when the
// outcome was collected: those the diagnosis attributed to the cause, else
// the failing ones at the cause's target's locations.
func failedBefore(o *checks.Outcome, c checks.Cause) []checks.Replay {
	if o == nil || o.Snapshot == nil || c.ID == "" {
		return nil
	}
	named := map[string]bool{}
	for _, r := range c.Requests {
		named[r] = true
	}
	passes := map[int]bool{}
	for _, t := range o.Snapshot.Targets {
		if t.Address == c.Target {
			for _, i := range t.Passes {
				passes[i] = true
			}
		}
	}
	var byName, byPass []checks.Replay
	for _, r := range o.Snapshot.Replays {
		if !r.Unanswered() {
			continue
		}
		if named[r.Text()+" → "+r.Answer()] {
			byName = append(byName, r)
		} else if passes[r.Pass] {
			byPass = append(byPass, r)
		}
	}
	if len(named) > 0 {
		return byName
	}
	return byPass
}

// ask makes one request through nginx again, as the diagnosis did
// (HTTP/1.0, its Host); the User-Agent marks it as ngxdoctor's own, so a
// later check does not take its log lines for the incident's.
func ask(ctx context.Context, r checks.Replay, timeout time.Duration) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", r.Addr)
	if err != nil {
		return 0, err.Error()
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	req := fmt.Sprintf("%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: ngxdoctor/fix-verify\r\n\r\n", r.Method, r.Path, r.Host)
	if _, err := c.Write([]byte(req)); err != nil {
		return 0, err.Error()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: r.Method})
	if err != nil {
		return 0, "no valid answer: " + err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode, ""
}

// verify checks that the fix helped: nginx still runs, the target accepts,
// a request through nginx to the failing location is no longer a 5xx, and
// no new error-log lines name the target. Lines written by the pids in old
// (nginx workers from before a reload, finishing requests with the old
// config) are not judged.
func (e *Engine) verify(ctx context.Context, o *checks.Outcome, p plan, offsets map[string]int64, old map[int]bool, logf func(string, ...any)) verdict {
	nx := nginxOf(o)
	var v verdict
	bad := func(r string) {
		v.regressed = true
		if v.reason == "" {
			v.reason = r
		}
		logf("verify: %s", r)
	}
	if nx.MasterPID > 0 && !alive(nx.MasterPID, "nginx") {
		bad("nginx is not running any more")
		return v
	}
	var targets []string
	if alt := p.cause.Facts.Alternative; alt != "" && p.cause.ID == checks.CauseWrongAddress {
		targets = append(targets, alt)
	}
	if p.cause.Target != "" {
		targets = append(targets, p.cause.Target)
	}
	timeout := e.ProbeTimeout
	if timeout == 0 {
		timeout = 3 * time.Second
	}
	probed := false
	if len(targets) > 0 {
		if network, addr, ok := dialable(targets[0]); ok {
			probed = probe(ctx, network, addr, timeout)
			if probed {
				logf("verify: %s accepts connections", targets[0])
			} else {
				logf("verify: %s does not accept connections (as root)", targets[0])
			}
		}
	}
	// A request must be allowed to take as long as the backend does: the
	// timeout fix's own check would otherwise time out.
	reqTimeout := timeout
	if m := p.cause.Facts.Took.Seconds(); m > 0 && p.cause.ID == checks.CauseUpstreamTimeout {
		reqTimeout = max(reqTimeout, min(time.Duration(m*1.5*float64(time.Second)), 5*time.Minute))
	}
	httpOK, tried := false, false
	ourPath := ""
	var ourPaths map[string]bool
	if p.advice {
		// Advice changes a log format or a timer, not the failing
		// location: it is judged by what it changes, never by a request
		// that fails for the incident's own cause.
		tried = true
		if p.checkFile != "" {
			if fi, err := os.Lstat(p.checkFile); err == nil && fi.Mode().IsRegular() {
				httpOK = true
				logf("verify: nginx writes %s", p.checkFile)
			} else {
				bad(fmt.Sprintf("nginx does not write %s after the reload", p.checkFile))
			}
		}
		if len(p.checkCmd) > 0 {
			if out, err := e.run(ctx, p.checkCmd); err != nil {
				bad(fmt.Sprintf("%s: %v", strings.Join(p.checkCmd, " "), withOutput(err, out)))
			} else {
				httpOK = true
				logf("verify: %s: %s", strings.Join(p.checkCmd, " "), firstLines(out, 1))
			}
		}
	} else if before := failedBefore(o, p.cause); len(before) > 0 {
		// The requests that failed before the fix are the symptom: the
		// fix is verified only when every one of them succeeds now.
		tried, httpOK = true, true
		ourPaths = map[string]bool{}
		for _, r := range before {
			ourPaths[r.Path] = true
			st, errText := ask(ctx, r, reqTimeout)
			// A backend just reloaded may take a moment to answer at all:
			// no answer is asked again twice; an answer is final.
			for try := 0; errText != "" && try < 2 && ctx.Err() == nil; try++ {
				time.Sleep(500 * time.Millisecond)
				st, errText = ask(ctx, r, reqTimeout)
			}
			// Pointed elsewhere, a request users made must succeed: a 404
			// is some other program's answer, not the moved backend's. (A
			// path made up from the location may rightly be a 404.)
			moved := p.cause.ID == checks.CauseWrongAddress && p.cause.Facts.Alternative != "" && r.From != "location"
			q := Request{Text: r.Text(), Before: r.Answer(), After: errText, OK: errText == "" && st < 500 && !(moved && st >= 400)}
			if errText == "" {
				q.After = strconv.Itoa(st)
			}
			v.requests = append(v.requests, q)
			if q.OK {
				logf("verify: %s through nginx answers %s (it answered %s before the fix)", q.Text, q.After, q.Before)
				continue
			}
			httpOK = false
			bad(fmt.Sprintf("%s through nginx still answers %s (%s before the fix)", q.Text, q.After, q.Before))
		}
	} else if url, host, why := requestURL(o, p.cause); url == "" {
		if p.cause.ID != "" {
			logf("verify: no request through nginx: %s", why)
		}
	} else {
		tried = true
		if i := strings.Index(url, "://"); i >= 0 {
			if j := strings.IndexByte(url[i+3:], '/'); j >= 0 {
				ourPath = url[i+3+j:]
			}
		}
		status, err := get(ctx, url, host, reqTimeout)
		switch {
		case err != nil:
			bad(fmt.Sprintf("request %s through nginx: %v", url, err))
		case status == 502 || status == 503 || status == 504:
			bad(fmt.Sprintf("%s through nginx still answers %d", url, status))
		case status >= 400 && p.cause.ID == checks.CauseWrongAddress:
			// Any answer is not the backend's: the failing request must
			// succeed where the pass now points, or it is another program.
			bad(fmt.Sprintf("%s through nginx now answers %d: %s serves something else", url, status, p.cause.Facts.Alternative))
		default:
			httpOK = true
			logf("verify: %s through nginx answers %d", url, status)
		}
	}
	if p.checkURL != "" {
		tried = true
		status, err := get(ctx, p.checkURL, "", timeout)
		if err != nil || status != 200 {
			bad(fmt.Sprintf("%s: status %d, %v", p.checkURL, status, err))
		} else {
			httpOK = true
			logf("verify: %s answers 200", p.checkURL)
		}
	}
	if p.workerFiles > 0 {
		tried = true
		if err := workersMayOpen(ctx, nx.MasterPID, old, p.workerFiles); err != nil {
			bad(err.Error())
		} else {
			httpOK = true
			logf("verify: every nginx worker now may open %d files (its soft limit)", p.workerFiles)
		}
	}
	if p.holdConns > 0 {
		tried = true
		closed, err := holdConnections(ctx, p.holdAddr, p.holdConns)
		switch {
		case err != nil:
			bad(err.Error())
		case closed > 0:
			bad(fmt.Sprintf("nginx closed %d of %d idle connections to %s held at once", closed, p.holdConns, p.holdAddr))
		default:
			httpOK = true
			logf("verify: nginx holds %d idle connections to %s at once", p.holdConns, p.holdAddr)
		}
	}
	// Watch the error log a little: a worker that fails on the next
	// request logs it within moments.
	watch := e.Watch
	select {
	case <-ctx.Done():
	case <-time.After(watch):
	}
	for path, off := range offsets {
		for _, l := range newLogLines(path, off) {
			if !isErrorLine(l) {
				continue
			}
			if pid := logPID(l); pid > 0 && old[pid] {
				logf("verify: a worker from before the reload logged (not judged): %s", l)
				continue
			}
			if strings.Contains(l, "[emerg]") {
				bad("new error-log line: " + l)
				continue
			}
			for _, t := range targets {
				if !namesTarget(l, strings.TrimPrefix(t, "unix:")) {
					continue
				}
				// Live traffic to other locations of the same backend may
				// still fail for reasons this fix does not touch; only our
				// request, or a line that names none, judges the fix.
				if m := logRequest.FindStringSubmatch(l); m != nil && (ourPath != "" && m[1] != ourPath || ourPaths != nil && !ourPaths[m[1]]) {
					logf("verify: another request still fails (not judged): %s", l)
					break
				}
				bad("new error-log line: " + l)
				break
			}
		}
	}
	// Without a request through nginx, only a failure to connect is cured by
	// a connection: our probe runs as root, so it passes a socket's or a
	// directory's permissions and SELinux, and a backend that accepts may
	// still time out, send a huge header or speak the wrong protocol.
	probeJudges := checks.ProbeCures(p.cause.ID)
	if !tried && probed && !probeJudges {
		logf("verify: a connection as root does not show that %s is cured", p.cause.ID)
	}
	v.ok = !v.regressed && (httpOK || (!tried && probed && probeJudges))
	if v.ok {
		logf("verified")
	} else if !v.regressed {
		logf("not verified: no request through nginx or probe could confirm it")
	}
	return v
}

// namesTarget: the line names the address itself, not one it is a prefix
// of (127.0.0.1:80 in a line about 127.0.0.1:8080, /run/app.sock in one
// about /run/app.sock2).
func namesTarget(l, addr string) bool {
	for i := 0; addr != ""; {
		j := strings.Index(l[i:], addr)
		if j < 0 {
			return false
		}
		end := i + j + len(addr)
		if end == len(l) || !addrChar(l[end]) {
			return true
		}
		i += j + 1
	}
	return false
}

// probe connects until it succeeds or the timeout passes: a backend just
// restarted takes a moment to listen.
func probe(ctx context.Context, network, addr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		d := net.Dialer{Timeout: timeout}
		if c, err := d.DialContext(ctx, network, addr); err == nil {
			c.Close()
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var (
	logRequest  = regexp.MustCompile(`, request: "[A-Z]+ (\S+)`)
	logLevelPID = regexp.MustCompile(`\[(?:error|crit|alert|emerg)\] (\d+)#`)
)

// logPID is the pid of the nginx process that wrote an error-log line, or 0.
func logPID(l string) int {
	if m := logLevelPID.FindStringSubmatch(l); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func isErrorLine(l string) bool {
	for _, lv := range []string{"[error]", "[crit]", "[alert]", "[emerg]"} {
		if strings.Contains(l, lv) {
			return true
		}
	}
	return false
}

// dialable turns a target address into a network and address to dial.
func dialable(t string) (string, string, bool) {
	if p, ok := strings.CutPrefix(t, "unix:"); ok {
		return "unix", p, true
	}
	if _, _, err := net.SplitHostPort(t); err == nil {
		return "tcp", t, true
	}
	return "", "", false
}

func get(ctx context.Context, url, host string, timeout time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout+2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if host != "" {
		req.Host = host
	}
	client := &http.Client{
		// Our own nginx on loopback: the certificate is not what is tested.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// passFor finds the pass of the cause: the one at pass_at, else the first
// pass that uses the target.
func passFor(o *checks.Outcome, c checks.Cause) (nginx.Pass, bool) {
	if o == nil || o.Snapshot == nil || o.Snapshot.Config == nil {
		return nginx.Pass{}, false
	}
	cfg := o.Snapshot.Config
	at := c.Facts.PassAt
	for _, p := range cfg.Passes {
		if at != "" && p.At.String() == at {
			return p, true
		}
	}
	for _, t := range o.Snapshot.Targets {
		if t.Address == c.Target {
			for _, i := range t.Passes {
				if i >= 0 && i < len(cfg.Passes) {
					return cfg.Passes[i], true
				}
			}
		}
	}
	for _, p := range cfg.Passes {
		if p.Address == c.Target || p.Upstream == c.Target {
			return p, true
		}
	}
	return nginx.Pass{}, false
}

// requestURL is a GET through nginx that reaches the failing location: the
// failing request's path from the error log when there is one, else the
// location's own path; "" with a reason when neither is known.
func requestURL(o *checks.Outcome, c checks.Cause) (url, host, why string) {
	p, ok := passFor(o, c)
	if !ok {
		return "", "", "the pass for this target is not known"
	}
	cfg := o.Snapshot.Config
	if p.Server < 0 || p.Server >= len(cfg.Servers) {
		return "", "", "the pass is outside a server block"
	}
	srv := cfg.Servers[p.Server]
	addr := ""
	for _, l := range srv.Listen {
		if a := loopbackAddr(l); a != "" {
			addr = a
			break
		}
	}
	if addr == "" {
		return "", "", "no TCP listen address for the server"
	}
	path := loggedPath(o, c.Target)
	if path == "" {
		f := strings.Fields(p.Location)
		switch {
		case len(f) == 1 && strings.HasPrefix(f[0], "/"):
			path = f[0]
		case len(f) == 2 && (f[0] == "=" || f[0] == "^~"):
			path = f[1]
		default:
			return "", "", fmt.Sprintf("location %q has no literal path and the error log names no request", p.Location)
		}
	}
	scheme := "http"
	if srv.SSL {
		scheme = "https"
	}
	for _, n := range srv.Names {
		if n != "" && n != "_" && !strings.ContainsAny(n, "*~") {
			host = n
			break
		}
	}
	return scheme + "://" + addr + path, host, ""
}

// loopbackAddr turns a listen argument into an address on loopback.
func loopbackAddr(l string) string {
	if strings.HasPrefix(l, "unix:") {
		return ""
	}
	if _, err := strconv.Atoi(l); err == nil {
		return "127.0.0.1:" + l
	}
	h, port, err := net.SplitHostPort(l)
	if err != nil {
		return ""
	}
	switch h {
	case "", "*", "0.0.0.0":
		h = "127.0.0.1"
	case "::":
		h = "::1"
	}
	return net.JoinHostPort(h, port)
}

// loggedPath is the path of a logged GET/HEAD request that failed at the target.
func loggedPath(o *checks.Outcome, target string) string {
	for _, l := range o.Snapshot.ErrorLogs {
		for i := len(l.Entries) - 1; i >= 0; i-- {
			en := l.Entries[i]
			if en.Target != target || en.Request == "" {
				continue
			}
			f := strings.Fields(en.Request)
			if len(f) >= 2 && (f[0] == "GET" || f[0] == "HEAD") && strings.HasPrefix(f[1], "/") {
				return f[1]
			}
		}
	}
	return ""
}
