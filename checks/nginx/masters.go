package nginx

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// Master is one running nginx master and the config it runs.
type Master struct {
	PID int32 `json:"pid"`
	// Config is the main config file it read, absolute; "" when unknown
	// (no -c and a binary whose compiled default could not be read).
	Config string `json:"config"`
	// ConfigFrom says where Config comes from: "-c" (its command line) or
	// "conf-path" (its binary's compiled default).
	ConfigFrom string    `json:"config_from,omitempty"`
	Binary     string    `json:"binary"`
	Prefix     string    `json:"prefix,omitempty"`
	Started    time.Time `json:"started"`
	PPID       int32     `json:"ppid"`
}

// isMaster: nginx rewrites a master's title to "nginx: master process ...".
func isMaster(p *host.Process) bool {
	c := cmdline(p)
	return strings.Contains(c, "master process") && (p.Name == "nginx" || strings.HasPrefix(c, "nginx:"))
}

// isHelper: a worker, cache manager or cache loader, never a master.
func isHelper(p *host.Process) bool {
	c := cmdline(p)
	return strings.HasPrefix(c, "nginx: worker process") || strings.HasPrefix(c, "nginx: cache ") || strings.HasPrefix(c, "nginx: privileged agent")
}

// listMasters finds every nginx master and resolves the config each runs:
// its -c (against its -p, else its binary's compiled prefix), else its
// binary's compiled --conf-path. Sorted by start time, oldest first.
func listMasters(ctx context.Context, procs []host.Process, builds *buildCache) []Master {
	var out []Master
	for i := range procs {
		p := &procs[i]
		if !isMaster(p) || isHelper(p) || !parentOK(procs, p) {
			continue
		}
		out = append(out, resolveMaster(ctx, p, builds))
	}
	slices.SortStableFunc(out, func(a, b Master) int {
		if c := a.Started.Compare(b.Started); c != 0 && !a.Started.IsZero() && !b.Started.IsZero() {
			return c
		}
		return int(a.PID) - int(b.PID)
	})
	return out
}

func resolveMaster(ctx context.Context, p *host.Process, builds *buildCache) Master {
	m := Master{PID: p.PID, PPID: p.PPID, Started: p.Started}
	m.Binary = strings.TrimSuffix(p.Exe, " (deleted)")
	if m.Binary == "" {
		m.Binary = masterBinary(p.Cmdline)
	}
	conf, prefix := masterArgs(p.Cmdline)
	m.ConfigFrom = "-c"
	if conf == "" || prefix == "" || !filepath.IsAbs(conf) {
		var b buildInfo
		if m.Binary != "" {
			b, _ = builds.of(ctx, m.Binary)
		}
		if prefix == "" {
			prefix = b.prefix
		}
		if conf == "" {
			conf, m.ConfigFrom = b.confPath, "conf-path"
		}
	}
	if conf != "" && !filepath.IsAbs(conf) && prefix != "" {
		conf = filepath.Join(prefix, conf)
	}
	if conf == "" || !filepath.IsAbs(conf) {
		conf, m.ConfigFrom = "", ""
	} else {
		conf = filepath.Clean(conf)
	}
	m.Config, m.Prefix = conf, prefix
	return m
}

// SameConfig: two main-config paths name the same file as nginx sees it
// (cleaned; nginx itself does not resolve symlinks in -c).
func SameConfig(a, b string) bool {
	return a != "" && b != "" && filepath.Clean(a) == filepath.Clean(b)
}

func workersOf(procs []host.Process, master int32) []host.Process {
	var out []host.Process
	for _, p := range procs {
		if p.PPID == master && strings.Contains(cmdline(&p), "worker process") {
			out = append(out, p)
		}
	}
	return out
}

// chooseMaster takes the master to diagnose and says why, in words for
// the report. With a config only a master running it qualifies; with a
// pid only that master (running that config, when one is given too).
// Without either and several masters: the one running the default config
// of the nginx on PATH (the distribution's), else the oldest.
func chooseMaster(ctx context.Context, ms []Master, config string, pid int32, builds *buildCache) (*Master, string) {
	others := func(skip int32) string {
		var parts []string
		for _, m := range ms {
			if m.PID != skip {
				parts = append(parts, m.String())
			}
		}
		return strings.Join(parts, "; ")
	}
	if pid > 0 {
		for i := range ms {
			if ms[i].PID != pid {
				continue
			}
			if config != "" && !SameConfig(ms[i].Config, config) {
				return nil, fmt.Sprintf("pid %d was asked for, but it runs %s, not %s", pid, orUnknown(ms[i].Config), config)
			}
			return &ms[i], fmt.Sprintf("pid %d was asked for: it runs %s", pid, ms[i].configWords())
		}
		why := fmt.Sprintf("pid %d was asked for, but it is not a running nginx master", pid)
		if len(ms) > 0 {
			why += "; running: " + others(0)
		}
		return nil, why
	}
	if config != "" {
		var match []int
		for i := range ms {
			if SameConfig(ms[i].Config, config) {
				match = append(match, i)
			}
		}
		switch {
		case len(match) == 0 && len(ms) == 0:
			return nil, fmt.Sprintf("no nginx master is running (for %s or any other config)", config)
		case len(match) == 0:
			return nil, fmt.Sprintf("no nginx master runs %s (not diagnosed, as they run other configs: %s)", config, others(0))
		case len(match) == 1:
			m := &ms[match[0]]
			return m, fmt.Sprintf("pid %d runs %s, the config asked for", m.PID, m.configWords())
		}
		// Two independent masters of one config (other prefixes): the newest
		// is the one that read the file last.
		m := &ms[match[len(match)-1]]
		return m, fmt.Sprintf("%d masters run %s; took the newest, pid %d (%s)", len(match), config, m.PID, others(m.PID))
	}
	switch len(ms) {
	case 0:
		return nil, "no nginx master is running"
	case 1:
		return &ms[0], fmt.Sprintf("the only nginx master running: pid %d, %s", ms[0].PID, ms[0].configWords())
	}
	// The distribution's nginx is the one a person means by "nginx".
	def := ""
	if p, err := builds.sys.LookPath("nginx"); err == nil {
		if b, err := builds.of(ctx, p); err == nil && b.confPath != "" {
			def = b.confPath
			if !filepath.IsAbs(def) && b.prefix != "" {
				def = filepath.Join(b.prefix, def)
			}
		}
	}
	for i := range ms {
		if SameConfig(ms[i].Config, def) {
			return &ms[i], fmt.Sprintf("%d nginx masters run; took pid %d, which runs %s, the default config of the nginx on PATH; pass -c CONFIG for another (%s)",
				len(ms), ms[i].PID, def, others(ms[i].PID))
		}
	}
	return &ms[0], fmt.Sprintf("%d nginx masters run; took the oldest, pid %d (%s); pass -c CONFIG for another (%s)",
		len(ms), ms[0].PID, orUnknown(ms[0].Config), others(ms[0].PID))
}

func (m Master) configWords() string {
	switch m.ConfigFrom {
	case "-c":
		return m.Config + " (its -c)"
	case "conf-path":
		return m.Config + " (the compiled default of " + m.Binary + ")"
	}
	return "an unknown config"
}

// String is one master for a list: "pid 812 runs /etc/nginx/nginx.conf".
func (m Master) String() string {
	return fmt.Sprintf("pid %d runs %s", m.PID, orUnknown(m.Config))
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown config"
	}
	return s
}

// ErrNotMaster means a pid is not, or no longer, the nginx master running
// the config at hand: it must not be signalled. ErrNoMaster means no
// master runs that config at all (nothing to reload).
var (
	ErrNotMaster = errors.New("not the nginx master running that config")
	ErrNoMaster  = errors.New("no nginx master runs that config")
)

// VerifyMaster reads the process table afresh and says whether pid is,
// now, the nginx master running config: an nginx master (not a worker or
// cache process), whose parent is init or not nginx, whose -c
// (or, without one, its binary's compiled default) is config. A signal goes
// only to a pid it returned just before. A pid that is gone or is anything
// else is refused (ErrNotMaster), never swapped for another: the message
// names the master that runs config now, if one does. With pid 0 it finds
// the one master running config (ErrNoMaster when none does).
func VerifyMaster(ctx context.Context, sys host.System, pid int32, config string) (Master, error) {
	if config == "" {
		return Master{}, fmt.Errorf("%w: no config to match the master against", ErrNotMaster)
	}
	procs, err := sys.Processes(ctx)
	if err != nil && len(procs) == 0 {
		return Master{}, fmt.Errorf("%w: cannot read the process table: %v", ErrNotMaster, err)
	}
	builds := buildCache{sys: sys, got: map[string]buildInfo{}}
	var found []Master
	for _, m := range listMasters(ctx, procs, &builds) {
		if SameConfig(m.Config, config) && parentOK(procs, procOf(procs, m.PID)) {
			found = append(found, m)
		}
	}
	now := ""
	if len(found) > 0 {
		var pids []string
		for _, m := range found {
			pids = append(pids, fmt.Sprint(m.PID))
		}
		now = fmt.Sprintf("; pid %s runs %s now", strings.Join(pids, ", "), config)
	}
	if pid <= 0 {
		switch len(found) {
		case 0:
			return Master{}, fmt.Errorf("%w: %s", ErrNoMaster, config)
		case 1:
			return found[0], nil
		}
		return Master{}, fmt.Errorf("%w: %d masters run %s", ErrNotMaster, len(found), config)
	}
	p := procOf(procs, pid)
	var reason string
	switch {
	case p == nil:
		reason = fmt.Sprintf("pid %d is gone", pid)
	case isHelper(p) || !isMaster(p):
		reason = fmt.Sprintf("pid %d is not an nginx master (%q)", pid, cmdline(p))
	case !parentOK(procs, p):
		reason = fmt.Sprintf("pid %d's parent %d is an nginx process: it is a child of that instance, not its master", pid, p.PPID)
	default:
		m := resolveMaster(ctx, p, &builds)
		if SameConfig(m.Config, config) {
			return m, nil
		}
		reason = fmt.Sprintf("pid %d runs %s, not %s", pid, orUnknown(m.Config), config)
	}
	return Master{}, fmt.Errorf("%w: %s%s", ErrNotMaster, reason, now)
}

func procOf(procs []host.Process, pid int32) *host.Process {
	for i := range procs {
		if procs[i].PID == pid {
			return &procs[i]
		}
	}
	return nil
}

// parentOK: a master's parent is init (a daemon) or anything but nginx.
// A process titled "master process" under an nginx master is a worker just
// forked that has not renamed itself yet, or the new master of a binary
// upgrade (USR2) while the old one still serves: either way it is part of
// its parent's instance, neither listed apart nor signalled.
func parentOK(procs []host.Process, p *host.Process) bool {
	if p == nil {
		return false
	}
	if p.PPID <= 1 {
		return true
	}
	parent := procOf(procs, p.PPID)
	return parent == nil || !(isHelper(parent) || isMaster(parent))
}
