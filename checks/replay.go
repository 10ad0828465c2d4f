package checks

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// Requests through nginx are the symptom itself: collected once, after the
// logs were read, so that their own error-log lines are never taken for
// the incident's.

const (
	// maxReplaysPerLocation and maxReplays cap the requests made through nginx.
	maxReplaysPerLocation = 3
	maxReplays            = 16
	replayWorkers         = 4
)

// Replay is one request made through nginx during collection.
type Replay struct {
	Method string `json:"method"`
	// Path is the path and query, as the client sent it.
	Path string `json:"path"`
	Host string `json:"host"`
	// Addr is where nginx was asked ("127.0.0.1:80").
	Addr string `json:"addr"`
	// Pass is the index in Config.Passes of the location it exercises.
	Pass     int    `json:"-"`
	Location string `json:"location"`
	// From says where the request came from: "error log", "access log"
	// (a recent failing request of the window), "before the fix"
	// (Options.Again) or "location" (a path the location matches).
	From   string `json:"from"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	// Cut: ngxdoctor's deadline ended before nginx answered. Neither a
	// failure nor an answer: the run is incomplete for this request.
	Cut  bool          `json:"cut,omitempty"`
	Took time.Duration `json:"-"`
	// Lines are the error-log lines nginx wrote for this very request.
	Lines []logs.Entry `json:"-"`
	// Direct is what the backend answered the same request asked directly,
	// by target address, for a failing request nginx logged nothing for.
	Direct map[string]int `json:"-"`
}

// Failed: nginx gave no valid answer, or a 5xx. A request ngxdoctor
// stopped waiting for (Cut) has not failed: nobody knows its answer yet.
func (r Replay) Failed() bool { return !r.Cut && (r.Error != "" || r.Status >= 500) }

// OK: nginx answered, without a 5xx.
func (r Replay) OK() bool { return !r.Cut && !r.Failed() }

// Works: evidence that the location serves requests now. A path
// ngxdoctor made up for a location (From "location") that gets a 4xx may
// never have reached the backend (try_files ... =404, a deny, another
// location taking it), so it shows nothing either way.
func (r Replay) Works() bool { return r.OK() && (r.From != "location" || r.Status < 400) }

// Unanswered is what a fix must cure: a failure, or no answer in time.
func (r Replay) Unanswered() bool { return r.Cut || r.Failed() }

// Text is "GET /export on shop.test".
func (r Replay) Text() string { return fmt.Sprintf("%s %s on %s", r.Method, r.Path, r.Host) }

// Answer is "502", or the error.
func (r Replay) Answer() string {
	if r.Error != "" {
		return r.Error
	}
	return strconv.Itoa(r.Status)
}

// seenRequest is a request of the window that failed.
type seenRequest struct {
	method, uri, host, from string
	at                      time.Time
}

// failingRequests are the window's failing GET/HEAD requests, newest first,
// from the error log (with their Host) and the access log.
func (s *Snapshot) failingRequests() []seenRequest {
	var out []seenRequest
	seen := map[string]bool{}
	add := func(q seenRequest) {
		if q.method != "GET" && q.method != "HEAD" {
			return // never replay a request that may change something
		}
		if !strings.HasPrefix(q.uri, "/") {
			return
		}
		k := q.method + " " + q.uri + " " + q.host
		if !seen[k] {
			seen[k] = true
			out = append(out, q)
		}
	}
	for _, r := range s.Options.Again {
		add(seenRequest{method: r.Method, uri: r.Path, host: r.Host, from: "before the fix"})
	}
	var es []logs.Entry
	for _, l := range s.ErrorLogs {
		for _, e := range l.Entries {
			if e.Request != "" && !s.ours(e) && (s.Since.IsZero() || !e.Time.Before(s.Since)) {
				es = append(es, e)
			}
		}
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Time.After(es[j].Time) })
	for _, e := range es {
		if f := strings.Fields(e.Request); len(f) >= 2 {
			add(seenRequest{method: f[0], uri: f[1], host: e.Host, from: "error log", at: e.Time})
		}
	}
	var qs []logs.Request
	for _, a := range s.Access {
		qs = append(qs, a.Failed...)
	}
	sort.SliceStable(qs, func(i, j int) bool { return qs[i].Time.After(qs[j].Time) })
	for _, q := range qs {
		add(seenRequest{method: q.Method, uri: q.URI, from: "access log", at: q.Time})
	}
	return out
}

// ours says whether an error-log line was written for one of ngxdoctor's
// own earlier requests (the access log names its User-Agent).
func (s *Snapshot) ours(e logs.Entry) bool {
	if e.Request == "" {
		return false
	}
	f := strings.Fields(e.Request)
	return len(f) >= 2 && s.ourRequests[ourKey(f[0], f[1], e.Time)]
}

func ourKey(method, uri string, at time.Time) string {
	return method + " " + uri + " " + strconv.FormatInt(at.Unix(), 10)
}

// indexOurs notes ngxdoctor's own earlier requests the access logs show.
func (s *Snapshot) indexOurs() {
	for _, a := range s.Access {
		for _, q := range a.Ours {
			if s.ourRequests == nil {
				s.ourRequests = map[string]bool{}
			}
			s.ourRequests[ourKey(q.Method, q.URI, q.Time)] = true
		}
	}
}

// replayPlan picks the requests to make: for each location with a pass on
// a server this host can reach, its recent failing requests and a path it
// matches (for a regex location, one built from its expression).
func (s *Snapshot) replayPlan() []Replay {
	if s.Config == nil {
		return nil
	}
	failing := s.failingRequests()
	var out []Replay
	seen := map[string]bool{}
	for pi, p := range s.Config.Passes {
		if p.Server < 0 || p.Server >= len(s.Config.Servers) {
			continue
		}
		sv := s.Config.Servers[p.Server]
		addr := localListen(sv)
		if addr == "" || sv.SSL {
			continue
		}
		name := serverHost(sv)
		n := 0
		for _, q := range failing {
			if n == maxReplaysPerLocation {
				break
			}
			host := q.host
			if host == "" {
				host = name
			}
			if s.matchPass(host, q.uri) != pi {
				continue
			}
			k := q.method + " " + addr + " " + host + " " + q.uri
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, Replay{Method: q.method, Path: q.uri, Host: host, Addr: addr, Pass: pi, Location: p.Location, From: q.from})
			n++
		}
		// The location's own path too: beside a failing request it shows
		// whether the location fails as a whole ("GET /export fails, GET / works").
		path := prefixPath(p.Location)
		if path == "" {
			// A regex location: a path its expression matches, if nginx
			// would really choose this location for it.
			if path = regexPath(p.Location); path == "" || s.matchPass(name, path) != pi {
				continue
			}
		}
		if !strings.HasPrefix(path, "/") {
			continue // a named location (@fallback) is only reached from inside nginx
		}
		k := "GET " + addr + " " + name + " " + path
		if !seen[k] {
			seen[k] = true
			out = append(out, Replay{Method: "GET", Path: path, Host: name, Addr: addr, Pass: pi, Location: p.Location, From: "location"})
		}
	}
	// Failing requests first: they are the symptom.
	sort.SliceStable(out, func(i, j int) bool { return out[i].From != "location" && out[j].From == "location" })
	if len(out) > maxReplays {
		out = out[:maxReplays]
	}
	return out
}

func serverHost(sv nginx.Server) string {
	for _, n := range sv.Names {
		if n != "" && n != "_" && !strings.ContainsAny(n, "*~") && !strings.HasPrefix(n, ".") {
			return n
		}
	}
	return "localhost"
}

// matchPass finds the pass whose location nginx would choose for uri on
// the server named host, or -1: the server by name (else the first that
// listens locally), then exact, then the longest prefix unless ^~, then
// the first regex that matches, then the longest prefix.
func (s *Snapshot) matchPass(host, uri string) int {
	path := uri
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	server := -1
	for i, sv := range s.Config.Servers {
		for _, n := range sv.Names {
			if strings.EqualFold(n, host) || (strings.HasPrefix(n, "*.") && strings.HasSuffix(host, n[1:])) || (strings.HasPrefix(n, ".") && (host == n[1:] || strings.HasSuffix(host, n))) {
				server = i
				break
			}
		}
		if server >= 0 {
			break
		}
	}
	if server < 0 {
		for i, sv := range s.Config.Servers {
			if localListen(sv) != "" && !sv.SSL {
				server = i
				break
			}
		}
	}
	prefix, prefixLen, stop := -1, -1, false
	regex := -1
	for pi, p := range s.Config.Passes {
		if p.Server != server {
			continue
		}
		f := strings.Fields(p.Location)
		switch {
		case len(f) == 2 && f[0] == "=":
			if f[1] == path {
				return pi
			}
		case len(f) == 1 || (len(f) == 2 && f[0] == "^~"):
			loc := f[len(f)-1]
			if strings.HasPrefix(path, loc) && len(loc) > prefixLen {
				prefix, prefixLen, stop = pi, len(loc), f[0] == "^~"
			}
		case len(f) >= 2 && (f[0] == "~" || f[0] == "~*"):
			if regex >= 0 {
				continue
			}
			expr := strings.Join(f[1:], " ")
			if f[0] == "~*" {
				expr = "(?i)" + expr
			}
			if re, err := regexp.Compile(expr); err == nil && re.MatchString(path) {
				regex = pi
			}
		}
	}
	if regex >= 0 && !stop {
		return regex
	}
	return prefix
}

// replay makes the planned requests through nginx and reads what nginx
// logged for each of them.
func (s *Snapshot) replay(ctx context.Context) {
	plan := s.replayPlan()
	if len(plan) == 0 {
		return
	}
	start := s.Sys.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, replayWorkers)
	for i := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &plan[i]
			t0 := time.Now()
			r.Status, r.Error, r.Cut = s.askNginx(ctx, *r)
			r.Took = time.Since(t0)
		}()
	}
	wg.Wait()
	s.replayLines(ctx, plan, start)
	s.askBackends(ctx, plan)
	s.Replays = plan
}

// askNginx makes one request through nginx as a client would, through the
// System seam so the demo replays it.
func (s *Snapshot) askNginx(ctx context.Context, r Replay) (int, string, bool) {
	wait, limit, name := s.replayWait(r)
	deadline := time.Now().Add(wait)
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	st, errText := s.httpAsk(actx, "tcp", r.Addr, r.Method, r.Path, r.Host)
	// The socket's deadline may fire before the context's timer: the
	// clock says whether it was ngxdoctor's deadline that ended the wait.
	if errText != "" && ctx.Err() == nil && !time.Now().Before(deadline) {
		// Cut short by ngxdoctor, not answered by nginx: say so, and how
		// long nginx itself would still wait for the backend.
		errText = fmt.Sprintf("no answer within %s, ngxdoctor's deadline", wait)
		if limit > wait {
			errText += fmt.Sprintf(" (nginx waits up to %s: %s)", limit, name)
		}
		return 0, errText, true
	}
	return st, errText, false
}

// replayWait is how long a request through nginx is given: the probe
// deadline, or as long as nginx itself waits for the backend of its
// location (connect plus read timeout) when that is longer, up to
// probe.MaxWait, and a second for nginx to answer. Like the probe, it
// measures a slow answer instead of cutting it short: a page that takes
// 4 s is a slow 200, not a failure, and after a raised timeout the 3 s
// backend is seen answering. The probes run meanwhile, so a black-holed
// backend costs the run MaxWait at most. limit and name are the timeouts
// nginx applies.
func (s *Snapshot) replayWait(r Replay) (wait, limit time.Duration, name string) {
	wait = s.Options.timeout()
	if r.Pass < 0 || r.Pass >= len(s.Config.Passes) {
		return wait, 0, ""
	}
	p := s.Config.Passes[r.Pass]
	name, read, _ := readTimeout(p)
	connect, _ := nginx.ParseDuration(nginx.DefaultSetting(p.Module + "_connect_timeout"))
	if d, ok := p.Settings.Get(p.Module + "_connect_timeout"); ok && len(d.Args) > 0 {
		connect, _ = nginx.ParseDuration(d.Args[0])
	}
	limit, name = connect+read, name+" + "+p.Module+"_connect_timeout"
	return max(wait, min(limit, probe.MaxWait)+time.Second), limit, name
}

// httpAsk sends one HTTP/1.0 request and reads the status line.
func (s *Snapshot) httpAsk(ctx context.Context, network, addr, method, path, host string) (int, string) {
	c, err := s.Sys.Dial(ctx, network, addr)
	if err != nil {
		return 0, err.Error()
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	req := fmt.Sprintf("%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n", method, path, host, s.Options.agent())
	if _, err := c.Write([]byte(req)); err != nil {
		return 0, err.Error()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return 0, "no valid answer: " + err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode, ""
}

// agent is the User-Agent of ngxdoctor's requests: it says who asked.
func (o Options) agent() string {
	v := o.Version
	if v == "" {
		v = "dev"
	}
	return "ngxdoctor/" + v
}

// replayLines reads the error logs from the replays' start and gives each
// replay the lines nginx wrote for its request ("request: "GET /x HTTP/1.0"",
// host).
func (s *Snapshot) replayLines(ctx context.Context, plan []Replay, start time.Time) {
	since := start.Truncate(time.Second)
	for _, l := range s.ErrorLogs {
		got, err := logs.ReadErrorLog(ctx, s.Sys, l.Path, since)
		if err != nil {
			continue
		}
		for _, e := range got.Entries {
			for i := range plan {
				r := &plan[i]
				if e.Request == r.Method+" "+r.Path+" HTTP/1.0" && (e.Host == "" || strings.EqualFold(e.Host, r.Host)) {
					r.Lines = append(r.Lines, e)
					break
				}
			}
		}
	}
}

// askBackends asks each HTTP backend of a failing replay that nginx logged
// nothing for the same request: a backend's own 5xx is passed on as it is.
func (s *Snapshot) askBackends(ctx context.Context, plan []Replay) {
	hosts := hostHeaders(s.Targets)
	for i := range plan {
		r := &plan[i]
		if !r.Failed() || len(r.Lines) > 0 || r.Error != "" {
			continue
		}
		for _, t := range s.passTargets(r.Pass) {
			if t.Dynamic || (t.Kind != "http" && t.Kind != "unix") {
				continue
			}
			network, addr := "tcp", t.Address
			if t.Network == "unix" {
				network, addr = "unix", t.Path
			}
			actx, cancel := context.WithTimeout(ctx, s.Options.timeout())
			st, errText := s.httpAsk(actx, network, addr, r.Method, r.Path, hosts[t.Address])
			cancel()
			if errText == "" {
				if r.Direct == nil {
					r.Direct = map[string]int{}
				}
				r.Direct[t.Address] = st
			}
		}
	}
}

// passTargets are the targets a pass leads to.
func (s *Snapshot) passTargets(pi int) []nginx.Target {
	var out []nginx.Target
	for _, t := range s.Targets {
		for _, p := range t.Passes {
			if p == pi {
				out = append(out, t)
				break
			}
		}
	}
	return out
}
