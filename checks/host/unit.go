package host

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

const maxJournal = 20

var unitSuffixes = []string{".service", ".socket", ".scope", ".slice", ".target", ".timer", ".mount"}

// UnitFromCgroup names the systemd service a cgroup path belongs to
// ("/system.slice/php8.2-fpm.service" → "php8.2-fpm.service"), or "".
// The innermost .service wins: a container's own units nest inside.
func UnitFromCgroup(cgroup string) string {
	parts := strings.Split(strings.Trim(cgroup, "/"), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if strings.HasSuffix(parts[i], ".service") {
			return parts[i]
		}
	}
	return ""
}

// ReadUnit finds the systemd service running process pid (from its cgroup)
// and reads its state, recent journal and OOM kills.
func ReadUnit(ctx context.Context, sys System, pid int32) (Unit, bool) {
	ps, err := sys.Processes(ctx)
	if err != nil && len(ps) == 0 {
		return Unit{}, false
	}
	for _, p := range ps {
		if p.PID == pid {
			return UnitOf(ctx, sys, p)
		}
	}
	return Unit{}, false
}

// UnitOf is ReadUnit for a process already read: one listing of the
// process table then serves every backend.
func UnitOf(ctx context.Context, sys System, p Process) (Unit, bool) {
	name := UnitFromCgroup(p.Cgroup)
	if name == "" {
		return Unit{}, false
	}
	return readUnit(ctx, sys, name, []string{p.Name})
}

// UnitByName reads a systemd service by name ("php8.2-fpm" or
// "php8.2-fpm.service"); false when systemd is not running or has no such unit.
func UnitByName(ctx context.Context, sys System, name string) (Unit, bool) {
	if name == "" {
		return Unit{}, false
	}
	hasSuffix := false
	for _, s := range unitSuffixes {
		hasSuffix = hasSuffix || strings.HasSuffix(name, s)
	}
	if !hasSuffix {
		name += ".service"
	}
	return readUnit(ctx, sys, name, nil)
}

func readUnit(ctx context.Context, sys System, name string, procNames []string) (Unit, bool) {
	u := Unit{Name: name}
	out, err := runFact(ctx, sys, "systemctl", "show", name,
		"-p", "ActiveState,SubState,NRestarts,Result,MainPID,FragmentPath,ActiveEnterTimestamp,LoadState", "--no-pager")
	if toolProblem("systemctl", out, err) != "" {
		return u, false
	}
	props := parseProperties(string(out.Stdout))
	if props["LoadState"] == "not-found" || props["ActiveState"] == "" {
		return u, false
	}
	u.Active = props["ActiveState"]
	u.Sub = props["SubState"]
	u.Result = props["Result"]
	u.FragmentPath = props["FragmentPath"]
	u.Restarts, _ = strconv.Atoi(props["NRestarts"])
	if n, err := strconv.ParseInt(props["MainPID"], 10, 32); err == nil {
		u.MainPID = int32(n)
	}
	u.Since = parseSystemdTime(props["ActiveEnterTimestamp"], sys.Location())

	if u.MainPID > 0 && len(procNames) == 0 {
		if ps, _ := sys.Processes(ctx); len(ps) > 0 {
			for _, p := range ps {
				if p.PID == u.MainPID {
					procNames = append(procNames, p.Name)
				}
			}
		}
	}
	u.Journal = readJournal(ctx, sys, name)
	u.OOMKills = readOOMKills(ctx, sys, name, procNames)
	return u, true
}

func parseProperties(s string) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			props[k] = v
		}
	}
	return props
}

// parseSystemdTime reads "Tue 2026-11-24 05:00:00 UTC"; the zone
// abbreviation is resolved in the host's zone, as systemctl wrote it.
func parseSystemdTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "n/a" {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	for _, layout := range []string{"Mon 2006-01-02 15:04:05 MST", "Mon 2006-01-02 15:04:05.000000 MST", "2006-01-02 15:04:05 MST"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t
		}
	}
	return time.Time{}
}

// journalLines keeps real log lines, not journalctl's "-- No entries --"
// and "-- Boot ... --" markers.
func journalLines(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "-- ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

func readJournal(ctx context.Context, sys System, name string) []string {
	out, err := runFact(ctx, sys, "journalctl", "-u", name, "-n", strconv.Itoa(maxJournal), "--no-pager", "-o", "short-iso")
	if toolProblem("journalctl", out, err) != "" {
		return nil
	}
	return journalLines(string(out.Stdout))
}

// readOOMKills returns kernel OOM lines about the unit's processes, from
// the journal, or from dmesg when there is no journal.
func readOOMKills(ctx context.Context, sys System, unit string, procNames []string) []string {
	var lines []string
	out, err := runFact(ctx, sys, "journalctl", "-k", "-g", "Out of memory|oom-kill", "-n", strconv.Itoa(maxJournal), "--no-pager")
	if toolProblem("journalctl", out, err) == "" {
		lines = journalLines(string(out.Stdout))
	} else if out, err := runFact(ctx, sys, "dmesg"); toolProblem("dmesg", out, err) == "" {
		for _, line := range strings.Split(string(out.Stdout), "\n") {
			if strings.Contains(line, "Out of memory") || strings.Contains(line, "oom-kill") {
				lines = append(lines, strings.TrimSpace(line))
			}
		}
	}
	var mine []string
	for _, line := range lines {
		if mentions(line, unit, procNames) {
			mine = append(mine, line)
		}
	}
	if len(mine) > maxJournal {
		mine = mine[len(mine)-maxJournal:]
	}
	return mine
}

// mentions: the kernel names the victim by cgroup (task_memcg=.../UNIT)
// and by comm ("Killed process 812 (php-fpm8.2)", "task=php-fpm8.2").
func mentions(line, unit string, procNames []string) bool {
	if strings.Contains(line, "/"+unit) || strings.Contains(line, path.Base(unit)+",") {
		return true
	}
	for _, n := range procNames {
		if n == "" {
			continue
		}
		if strings.Contains(line, "("+n+")") || strings.Contains(line, "task="+n+",") || strings.HasPrefix(afterHost(line), n+" invoked oom-killer") {
			return true
		}
	}
	return false
}

// afterHost strips a journal line's "TIMESTAMP HOST kernel: " prefix.
func afterHost(line string) string {
	if _, after, ok := strings.Cut(line, "kernel: "); ok {
		return after
	}
	return line
}

// String is a one-line summary for evidence lists.
func (u Unit) String() string {
	s := fmt.Sprintf("%s: %s", u.Name, u.Active)
	if u.Sub != "" {
		s += " (" + u.Sub + ")"
	}
	if u.Restarts > 0 {
		s += fmt.Sprintf(", restarted %d times", u.Restarts)
	}
	if u.Result != "" && u.Result != "success" {
		s += ", last result " + u.Result
	}
	return s
}
