package checks

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/logs"
)

// startSlack is how well a process's start time is known (boot time has a
// one-second resolution): a file written within it is not a change.
const startSlack = 2 * time.Second

// config-not-loaded: the running nginx does not run the config on disk.
// Its workers log addresses the file no longer has, a request through
// nginx fails where the file's backends answer, or the last reload failed
// on an [emerg] while the old workers stayed. The fix is a reload.
var configNotLoadedRule = Rule{
	ID:        CauseConfigNotLoaded,
	Step:      2,
	LogProves: true,
	Nginx: func(s *Snapshot) []Cause {
		if !s.Install.Running || s.Config == nil {
			return nil
		}
		started := s.workersStarted()
		var ev []string
		occ := 0
		var stale []string
		for _, e := range s.staleLines() {
			occ++
			if occ <= maxEvidenceLines {
				ev = append(ev, "error.log (a running worker): "+e.Raw)
			}
			if !contains(stale, e.Target) {
				stale = append(stale, e.Target)
			}
		}
		failed := s.failedReload(started)
		if len(stale) == 0 && failed == nil {
			return nil
		}
		var summary string
		switch {
		case failed != nil:
			summary = fmt.Sprintf("The last reload failed at %s (%s): nginx still runs the config from before.", failed.Time.Format("15:04:05"), failed.Message)
			ev = append([]string{"error.log: " + failed.Raw}, ev...)
		default:
			summary = fmt.Sprintf("nginx's running workers still use %s, which the config on disk no longer has: the file was changed but nginx was not reloaded.", strings.Join(stale, ", "))
		}
		ev = append(ev, s.changedFiles(started)...)
		return []Cause{{ID: CauseConfigNotLoaded, Target: s.Install.Config, Logged: occ > 0, Live: failed != nil,
			Confidence: High, Summary: summary, Evidence: ev, Occurrences: occ, Facts: s.reloadFacts(s.staleLines())}}
	},
	Request: func(s *Snapshot, r Replay) (Cause, bool) {
		known := s.knownAddresses()
		for _, e := range r.Lines {
			if e.Target != "" && looksLikeAddress(e.Target) && !known[e.Target] && len(s.dynamicTargets()) == 0 {
				return Cause{ID: CauseConfigNotLoaded, Target: s.Install.Config, Confidence: High,
					Summary:  fmt.Sprintf("nginx connects to %s for %s, an address the config on disk no longer has: the file was changed but nginx was not reloaded.", e.Target, r.Text()),
					Evidence: append([]string{"error.log: " + e.Raw}, s.changedFiles(s.workersStarted())...), Facts: s.passFacts(r.Pass)}, true
			}
		}
		if changed := s.changedFiles(s.workersStarted()); len(changed) > 0 && len(r.Lines) == 0 && r.Error == "" && !s.directSame(r) {
			return Cause{ID: CauseConfigNotLoaded, Target: s.Install.Config, Confidence: Medium,
				Summary:  fmt.Sprintf("nginx answers %d for %s while the config changed after its workers started: the running config is not the file.", r.Status, r.Text()),
				Evidence: changed, Facts: s.passFacts(r.Pass)}, true
		}
		return Cause{}, false
	},
	Relate: func(s *Snapshot, c *Cause, all []*Cause) {
		for _, o := range all {
			if o.ID == CauseConfigInvalid {
				c.FollowsFrom = CauseConfigInvalid
				c.Summary += " The file fails nginx -t: fix it before reloading."
				return
			}
		}
	},
}

// reloadFacts point the reload's verification at the location of a stale
// line's request, else at the first pass.
func (s *Snapshot) reloadFacts(stale []logs.Entry) Facts {
	for _, e := range stale {
		if f := strings.Fields(e.Request); len(f) >= 2 {
			if pi := s.matchPass(e.Host, f[1]); pi >= 0 {
				return s.passFacts(pi)
			}
		}
	}
	if len(s.Config.Passes) > 0 {
		return s.passFacts(0)
	}
	return Facts{}
}

// passFacts name a pass and its location.
func (s *Snapshot) passFacts(pi int) Facts {
	if pi < 0 || pi >= len(s.Config.Passes) {
		return Facts{}
	}
	at := s.Config.Passes[pi].At.String()
	return Facts{PassAt: at, LocationAt: at}
}

// workersStarted is when the newest generation of workers started: the
// last (re)load. Zero when unknown.
func (s *Snapshot) workersStarted() time.Time {
	var t time.Time
	for _, p := range s.Processes {
		for _, w := range s.Install.WorkerPIDs {
			if p.PID == w && !p.Started.IsZero() && (t.IsZero() || p.Started.Before(t)) {
				t = p.Started
			}
		}
	}
	return t
}

// changedFiles are the config files modified after the workers started.
func (s *Snapshot) changedFiles(started time.Time) []string {
	if started.IsZero() || s.Sys == nil {
		return nil
	}
	var out []string
	for _, f := range s.Config.Files {
		fi, err := s.Sys.Lstat(f)
		if err == nil && fi.ModTime.After(started.Add(startSlack)) {
			out = append(out, fmt.Sprintf("%s changed at %s, after the workers started at %s", f, fi.ModTime.Format("15:04:05"), started.Format("15:04:05")))
		}
	}
	return out
}

// staleLines are the window's upstream errors written by the running
// workers about an address the config on disk does not have.
func (s *Snapshot) staleLines() []logs.Entry {
	if len(s.dynamicTargets()) > 0 {
		return nil // a pass with variables reaches addresses no file names
	}
	workers := map[int]bool{}
	for _, w := range s.Install.WorkerPIDs {
		workers[int(w)] = true
	}
	known := s.knownAddresses()
	var out []logs.Entry
	for _, l := range s.ErrorLogs {
		for _, e := range l.Entries {
			if !workers[e.PID] || e.Target == "" || known[e.Target] || !looksLikeAddress(e.Target) || s.ours(e) ||
				(!s.Since.IsZero() && e.Time.Before(s.Since)) || !upstreamError(e) {
				continue
			}
			out = append(out, e)
		}
	}
	return out
}

// failedReload is an [emerg] the master logged after the workers started:
// a reload nginx refused, so the old workers stay.
func (s *Snapshot) failedReload(started time.Time) *logs.Entry {
	if started.IsZero() {
		return nil
	}
	var last *logs.Entry
	for _, l := range s.ErrorLogs {
		for i, e := range l.Entries {
			if e.Level == "emerg" && e.Time.After(started.Add(startSlack/2)) && (s.Install.MasterPID == 0 || e.PID == int(s.Install.MasterPID)) {
				last = &l.Entries[i]
			}
		}
	}
	return last
}

// knownAddresses are the addresses the config on disk leads to, with what
// their names resolved to, and its group names.
func (s *Snapshot) knownAddresses() map[string]bool {
	known := map[string]bool{}
	for _, t := range s.Targets {
		known[t.Address] = true
		if t.Upstream != "" {
			known[t.Upstream] = true
		}
	}
	for a := range s.aliases() {
		known[a] = true
	}
	return known
}

// directSame: the backend answered the same status asked directly.
func (s *Snapshot) directSame(r Replay) bool {
	for _, st := range r.Direct {
		if st == r.Status {
			return true
		}
	}
	return false
}

// upstreamError: a line about connecting to or reading from an upstream.
func upstreamError(e logs.Entry) bool {
	switch e.Class {
	case logs.Refused, logs.PermissionDenied, logs.NoSuchFile, logs.Again, logs.NoRoute, logs.NetUnreachable,
		logs.Timeout, logs.Closed, logs.Reset, logs.BrokenPipe, logs.HeaderTooBig, logs.InvalidHeader, logs.TLS, logs.GRPC:
		return true
	}
	return false
}

func looksLikeAddress(a string) bool {
	return strings.HasPrefix(a, "unix:") || strings.Contains(a, ":")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
