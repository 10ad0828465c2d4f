package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
	"github.com/ngxdoctor/ngxdoctor/checks/probe"
)

// DefaultWindow is the log window when --since is not given.
const DefaultWindow = 15 * time.Minute

// probeWorkers bounds concurrent probes: enough that a hundred backends
// hanging until the deadline cost one deadline, not several; few enough
// for the default 1024 open files.
const probeWorkers = 256

// configTestTimeout bounds nginx -t (it may hang resolving a host name),
// plus configTestPerMiB for each MiB of config it has to read.
const (
	configTestTimeout = 10 * time.Second
	configTestPerMiB  = 5 * time.Second
)

// DefaultTimeout is the probe deadline when --timeout is not given.
const DefaultTimeout = 3 * time.Second

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// Collect gathers the evidence once: discovery and config first (everything
// else depends on them), then logs, probes, listeners and host facts at the
// same time. Only a missing nginx and config is an error; every other
// failure is a note or a check result.
func Collect(ctx context.Context, sys host.System, opts Options, progress func(Event)) (*Snapshot, error) {
	return collect(ctx, sys, opts, progress, nil, nil)
}

// collect is Collect that marks each part of the evidence in ms as soon as
// it is in, and calls started once the config is read (from then on it
// cannot fail): the steps begin there, each waiting for its needs.
func collect(ctx context.Context, sys host.System, opts Options, progress func(Event), ms *milestones, started func(*Snapshot)) (*Snapshot, error) {
	if ms == nil {
		ms = newMilestones()
	}
	emit := func(phase string) {
		if progress != nil {
			progress(Event{Phase: phase})
		}
	}
	s := &Snapshot{Sys: sys, Options: opts, Root: sys.Euid() == 0, Units: map[string]host.Unit{},
		tools: &toolCache{known: map[string]bool{}}}

	// The process table is read once: discovery picks the master and its
	// workers from it, and the checks read the same table, so both see one
	// moment (and a check pays for one listing, not two).
	procs, procsErr := sys.Processes(ctx)
	inst, err := nginx.Find(ctx, tableOnce{sys, procs, procsErr}, nginx.Want{Config: opts.Config, Binary: opts.Nginx, PID: opts.MasterPID, UserFromConfig: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNginx, err)
	}
	s.Install = inst
	emit("discovered")

	// nginx -t reads the same files as Load: run it alongside, not after,
	// so a big config costs about one nginx -t, not the sum of both.
	// Its deadline is set once Load knows the config's size (a 50 MB
	// config takes nginx -t minutes on a busy host); until then the load
	// itself bounds it.
	tctx, tcancel := context.WithTimeout(ctx, 10*time.Minute)
	defer tcancel()
	tdeadline := time.AfterFunc(10*time.Minute, tcancel)
	tstart := time.Now()
	tdone := make(chan struct{})
	var testErr error
	go func() {
		defer close(tdone)
		if inst.Binary == "" {
			return
		}
		ok, out, err := nginx.ConfigTest(tctx, sys, inst.Binary, inst.Config)
		if err != nil {
			testErr = err
			return
		}
		s.ConfigTest = ConfigTest{Ran: true, OK: ok, Output: strings.TrimSpace(out)}
		if !ok && !s.Root && strings.Contains(out, "(13: Permission denied)") {
			s.ConfigTest.Inconclusive = "nginx -t needs root to open the pid, log and temp files the config names"
		}
	}()

	cfg, err := nginx.Load(ctx, sys, inst.Config)
	if cfg != nil {
		tdeadline.Reset(configTestTimeout + time.Duration(cfg.Bytes>>20)*configTestPerMiB - time.Since(tstart))
	}
	if cfg == nil {
		tcancel()
		if ctx.Err() != nil {
			// nginx -t is killed; waiting for a 1 GB process to be torn
			// down would only delay the answer to SIGTERM.
			// Interrupted (SIGTERM, q), not a missing config: say so.
			return nil, fmt.Errorf("interrupted while reading the configuration %s: %w", inst.Config, ctx.Err())
		}
		<-tdone
		if err == nil {
			err = errors.New("empty configuration")
		}
		return nil, fmt.Errorf("%w: cannot read the configuration %s: %v", ErrNoNginx, inst.Config, err)
	}
	s.Config, s.ConfigErr = cfg, err
	if inst.WorkerUser == "" { // no worker runs: the config's user directive says who would
		inst.WorkerUser = cmp.Or(cfg.User, "nobody")
		s.Install.WorkerUser = inst.WorkerUser
	}
	s.Targets = cfg.Targets()
	// Before anything runs alongside: the probes, the steps and the
	// failing requests all read it.
	s.asks = s.workOutAsks()

	now := sys.Now()
	s.Taken = now
	switch {
	case opts.All:
		s.Since = time.Time{}
	case opts.Since > 0:
		s.Since = now.Add(-opts.Since)
	default:
		s.Since = now.Add(-DefaultWindow)
	}
	if opts.NotBefore.After(s.Since) {
		s.Since = opts.NotBefore
	}
	ms.done(NeedConfig)
	emit("config")
	if started != nil {
		started(s)
	}

	// Each part is marked done however it ends (a panic included), so a
	// step waiting for it never waits longer than the collection.
	var wg sync.WaitGroup
	var mu sync.Mutex
	note := func(format string, args ...any) {
		mu.Lock()
		s.Notes = append(s.Notes, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	unfinished := func(format string, args ...any) {
		mu.Lock()
		s.Unfinished = append(s.Unfinished, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	goDo := func(phase string, marks Need, f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ms.done(marks)
			defer func() {
				if r := recover(); r != nil {
					note("%s: internal error: %v", phase, r)
				}
			}()
			f()
			if phase != "" {
				emit(phase)
			}
		}()
	}

	goDo("", NeedConfigTest, func() {
		<-tdone
		tdeadline.Stop()
		if testErr != nil {
			note("nginx -t could not run: %v", testErr)
			if tctx.Err() != nil && ctx.Err() == nil {
				unfinished("nginx -t did not answer within %s", time.Since(tstart).Round(time.Second))
			}
		}
	})
	goDo("replay", NeedLogs|NeedReplay, func() {
		s.readLogs(ctx)
		s.indexOurs()
		ms.done(NeedLogs)
		emit("logs")
		if !opts.NoReplay && inst.Running {
			s.replay(ctx)
			for _, r := range s.Replays {
				if r.Cut {
					unfinished("%s through nginx: %s", r.Text(), r.Error)
				}
			}
		}
	})
	goDo("probes", NeedProbes, func() {
		s.Probes = probe.All(ctx, countProbes(sys, s.Targets, opts.timeout(), progress), s.Targets, s.probeAsks(), opts.timeout(), probeWorkers)
		// The failing request is asked of each target that answered: it
		// needs the logs and the requests through nginx.
		ms.wait(NeedLogs | NeedReplay)
		s.askFailing(ctx)
	})
	goDo("host", NeedHost, func() {
		hctx, cancel := context.WithTimeout(ctx, 2*opts.timeout()+2*time.Second)
		defer cancel()
		if procsErr != nil {
			note("processes: %v", procsErr)
		}
		s.Processes = procs
		var hw sync.WaitGroup
		hw.Add(5)
		go func() {
			defer hw.Done()
			s.Machine, s.MachineErr = sys.Machine(hctx)
			s.Resources, s.ResourcesErr = sys.Resources(hctx)
		}()
		go func() {
			defer hw.Done()
			ls, err := sys.Listeners(hctx)
			if err != nil {
				note("listeners: %v", err)
			}
			s.Listeners = ls
		}()
		go func() {
			defer hw.Done()
			name := inst.WorkerUser
			if name == "" {
				name = cfg.User
			}
			if name == "" {
				name = "nobody"
			}
			s.WorkerUser, s.WorkerUserErr = sys.LookupUser(name)
		}()
		go func() { defer hw.Done(); s.SELinux = host.ReadSELinux(hctx, sys) }()
		go func() { defer hw.Done(); s.Firewall = host.ReadFirewall(hctx, sys) }()
		hw.Wait()
		s.readUnits(hctx)
		s.readSockets()
		if hctx.Err() != nil && ctx.Err() == nil {
			unfinished("host facts (listeners, processes, firewall, units) did not finish within %s", 2*opts.timeout()+2*time.Second)
		}
		s.PHPFPM = host.ReadPHPFPM(hctx, sys, s.Processes, s.Since)
	})
	goDo("", NeedMoved, func() {
		ms.wait(NeedProbes | NeedHost)
		s.findMoved(ctx)
	})
	wg.Wait()
	s.readOwnFiles()
	s.noteGaps()
	sort.Strings(s.Notes)
	ms.done(NeedRest)
	return s, nil
}

// tableOnce answers Processes with the table Collect has already read.
type tableOnce struct {
	host.System
	procs []host.Process
	err   error
}

func (t tableOnce) Processes(context.Context) ([]host.Process, error) {
	return slices.Clone(t.procs), t.err
}

// readLogs reads every error and access log in the window. Logs named by
// flags replace those of the config.
func (s *Snapshot) readLogs(ctx context.Context) {
	errPaths := s.Options.ErrorLogs
	if len(errPaths) == 0 {
		for _, l := range s.Config.ErrorLogs {
			errPaths = append(errPaths, l.Path)
		}
		if len(errPaths) == 0 && s.Install.ErrorLogDefault != "" {
			errPaths = append(errPaths, s.Install.ErrorLogDefault)
		}
	}
	accPaths := s.Options.AccessLogs
	if len(accPaths) == 0 {
		for _, l := range s.Config.AccessLogs {
			accPaths = append(accPaths, l.Path)
		}
	}
	var wg sync.WaitGroup
	var errs, accErrs []string
	wg.Add(2)
	go func() { defer wg.Done(); s.ErrorLogs, errs = readEach(ctx, s, errPaths, logs.ReadErrorLog) }()
	go func() { defer wg.Done(); s.Access, accErrs = readEach(ctx, s, accPaths, logs.ReadAccessLog) }()
	wg.Wait()
	s.LogErrors = append(errs, accErrs...)
}

// readEach reads logs of one kind at once, in path order; a log that cannot
// be read is named with the reason, and the others go on.
func readEach[L any](ctx context.Context, s *Snapshot, paths []string,
	read func(context.Context, host.System, string, time.Time) (L, error)) ([]L, []string) {
	paths = dedupe(paths)
	sort.Strings(paths)
	got := make([]*L, len(paths))
	problems := make([]string, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		p, skip := s.logPath(p)
		if skip != "" {
			problems[i] = skip
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := read(ctx, s.Sys, p, s.Since)
			if err != nil {
				problems[i] = fmt.Sprintf("%s: %v", p, err)
				return
			}
			got[i] = &l
		}()
	}
	wg.Wait()
	var out []L
	var errs []string
	for i := range paths {
		if got[i] != nil {
			out = append(out, *got[i])
		}
		if problems[i] != "" {
			errs = append(errs, problems[i])
		}
	}
	return out, errs
}

// logPath resolves a log path as nginx would (relative to the prefix) and
// says why a destination cannot be read as a file.
func (s *Snapshot) logPath(p string) (string, string) {
	switch {
	case p == "stderr" || p == "/dev/stderr" || p == "/dev/stdout":
		return "", p + ": logs go to the terminal or the service's journal (journalctl -u nginx), not to a file"
	case strings.HasPrefix(p, "syslog:"):
		return "", p + ": logs go to syslog; read them with journalctl or in /var/log/syslog"
	case strings.HasPrefix(p, "memory:"):
		return "", p + ": an in-memory debug log"
	case p == "/dev/null" || p == "off":
		return "", p + ": logging is off"
	}
	if !filepath.IsAbs(p) && s.Install.Prefix != "" {
		p = filepath.Join(s.Install.Prefix, p)
	}
	return p, ""
}

// readUnits finds the systemd unit behind each target's listener.
// Many targets often share one backend process: each pid is asked once.
func (s *Snapshot) readUnits(ctx context.Context) {
	type answer struct {
		u  host.Unit
		ok bool
	}
	byPID := map[int32]answer{}
	for _, t := range s.Targets {
		l, ok := listenerFor(s.Listeners, t)
		if !ok || l.PID <= 0 {
			continue
		}
		a, seen := byPID[l.PID]
		if !seen {
			// The table read once above, not a fresh listing per backend.
			if p, ok := processByPID(s.Processes, l.PID); ok {
				a.u, a.ok = host.UnitOf(ctx, s.Sys, p)
			} else {
				a.u, a.ok = host.ReadUnit(ctx, s.Sys, l.PID)
			}
			byPID[l.PID] = a
		}
		if a.ok {
			s.Units[t.Address] = a.u
		}
	}
}

// readSockets looks at every unix-socket target's path as the worker user
// would see it. Lstat only: a symlinked path is reported, never followed
// by a fix.
func (s *Snapshot) readSockets() {
	s.Sockets = map[string]Socket{}
	for _, t := range s.Targets {
		if t.Network != "unix" || t.Dynamic {
			continue
		}
		var so Socket
		fi, err := s.Sys.Lstat(t.Path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			so.Err = err.Error()
		default:
			so.Exists, so.Info = true, fi
			so.IsSocket = fi.Mode&fs.ModeSocket != 0
			if u, err := s.Sys.LookupUserID(fi.UID); err == nil {
				so.Owner = u.Name
			} else {
				so.Owner = fmt.Sprint(fi.UID)
			}
			if g, err := s.Sys.LookupGroupID(fi.GID); err == nil {
				so.Group = g
			} else {
				so.Group = fmt.Sprint(fi.GID)
			}
			if s.WorkerUserErr == nil {
				so.WorkerMay, so.Reason, so.BlockedDir = host.CanConnect(s.Sys, s.WorkerUser, t.Path)
			} else {
				so.WorkerMay = true // unknown user: do not accuse the permissions
				so.Reason = "worker user unknown: " + s.WorkerUserErr.Error()
			}
		}
		s.Sockets[t.Path] = so
	}
}

// hostHeaders gives, for each target, the Host header nginx would send by
// default for an upstream (the proxy_pass host part; $proxy_host).
func hostHeaders(ts []nginx.Target) map[string]string {
	h := map[string]string{}
	for _, t := range ts {
		switch {
		case t.Upstream != "":
			h[t.Address] = t.Upstream
		case t.Network == "unix":
			h[t.Address] = "localhost"
		default:
			h[t.Address] = t.Address
		}
	}
	return h
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// countProbes reports, while the probes run, how many targets are done: a
// probe is done when its dial fails or its connection is closed. The
// screen then says what it still waits for, and until when.
func countProbes(sys host.System, ts []nginx.Target, timeout time.Duration, progress func(Event)) host.System {
	if progress == nil {
		return sys
	}
	total := 0
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.Address] && !t.Dynamic {
			seen[t.Address] = true
			total++
		}
	}
	// A target that connects slowly and then answers slowly takes two deadlines.
	c := &probeCounter{System: sys, total: total, deadline: time.Now().Add(2 * timeout), progress: progress}
	progress(Event{Phase: "probe", Total: total, Deadline: c.deadline})
	return c
}

type probeCounter struct {
	host.System
	mu       sync.Mutex
	done     int
	total    int
	deadline time.Time
	progress func(Event)
}

func (c *probeCounter) finished() {
	c.mu.Lock()
	c.done++
	ev := Event{Phase: "probe", Done: min(c.done, c.total), Total: c.total, Deadline: c.deadline}
	c.mu.Unlock()
	c.progress(ev)
}

func (c *probeCounter) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := c.System.Dial(ctx, network, address)
	if err != nil {
		c.finished()
		return nil, err
	}
	return &countedConn{Conn: conn, done: c.finished}, nil
}

type countedConn struct {
	net.Conn
	once sync.Once
	done func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.done)
	return c.Conn.Close()
}
