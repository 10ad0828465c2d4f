package checks

import (
	"fmt"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// Step 5's facts from the process table and the host (gopsutil, through
// the System seam): who serves each backend, how much memory it holds,
// whether it started during the incident, and whether the host is short
// of memory.

// backendProcesses says, per backend process, its pid, start and resident
// memory. restarted counts those that started inside the window after
// error-log lines about their backend: a backend that crashed, was
// OOM-killed or redeployed while nginx was failing.
func backendProcesses(s *Snapshot) (ev []string, restarted int) {
	seen := map[int32]bool{}
	for _, t := range s.Targets {
		l, ok := listenerFor(s.Listeners, t)
		if !ok || l.PID <= 0 || seen[l.PID] {
			continue
		}
		seen[l.PID] = true
		p, ok := processByPID(s.Processes, l.PID)
		if !ok || p.Started.IsZero() {
			continue
		}
		line := fmt.Sprintf("%s: %s (pid %d) running since %s", t.Address, p.Name, p.PID, s.clock(p.Started))
		if p.RSS > 0 {
			line += fmt.Sprintf(", %s resident", mibOf(p.RSS))
		}
		if !s.Since.IsZero() && p.Started.After(s.Since) {
			if n, first := linesAbout(s, t.Address, t.Upstream, p.Started); n > 0 {
				restarted++
				line += fmt.Sprintf(": it started after %d error-log lines about it (the first at %s), so it restarted during the incident (crashed, killed or redeployed)", n, s.clock(first))
			} else {
				line += " (started inside the log window)"
			}
		}
		ev = append(ev, line)
	}
	return ev, restarted
}

// hostMemory is the host's memory, swap and load line, and whether memory
// is short (less than a tenth available, or swap more than half used):
// the kernel's OOM killer picks a backend first.
func hostMemory(s *Snapshot) (ev []string, short string) {
	if s.ResourcesErr != nil || s.Resources.MemTotal == 0 {
		return nil, ""
	}
	ev = []string{"host: " + s.Resources.String()}
	if p := s.Resources.MemoryPressure(); p != "" {
		ev = append(ev, "host memory is short: "+p)
		short = p
	}
	return ev, short
}

func processByPID(ps []host.Process, pid int32) (host.Process, bool) {
	for _, p := range ps {
		if p.PID == pid {
			return p, true
		}
	}
	return host.Process{}, false
}

// linesAbout counts the window's error-log lines about a backend (by its
// address or its upstream group) before t, and the time of the first.
func linesAbout(s *Snapshot, addr, group string, before time.Time) (int, time.Time) {
	n := 0
	var first time.Time
	for _, l := range s.ErrorLogs {
		for _, e := range l.Entries {
			if e.Time.Before(s.Since) || !e.Time.Before(before) || (e.Target != addr && (group == "" || e.Target != group)) {
				continue
			}
			n++
			if first.IsZero() || e.Time.Before(first) {
				first = e.Time
			}
		}
	}
	return n, first
}

// clock is a time on the host's clock, as its logs show it.
func (s *Snapshot) clock(t time.Time) string {
	if s.Sys != nil && s.Sys.Location() != nil {
		t = t.In(s.Sys.Location())
	}
	return t.Format("15:04:05")
}

func mibOf(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
