package host

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time; Linux
// exports 100 on every architecture it runs on, whatever CONFIG_HZ is.
const clockTicks = 100

// listProcesses reads /proc directly: gopsutil's process package would
// pull in modules this build does not carry, and the few fields needed
// here are plain text.
func listProcesses(ctx context.Context, userName func(uint32) string) ([]Process, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	boot := bootTime()
	out := make([]Process, 0, len(names))
	for _, n := range names {
		pid, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("list processes: %w", err)
		}
		o := readOwner(int32(pid))
		if o.name == "" {
			continue // exited while we looked
		}
		p := Process{PID: o.pid, PPID: o.ppid, Name: o.name, UID: o.uid, User: userName(o.uid)}
		p.Exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		p.Cmdline = readCmdline(p.PID)
		p.Cgroup = readCgroup(p.PID)
		if ticks, ok := startTicks(p.PID); ok && !boot.IsZero() {
			p.Started = boot.Add(time.Duration(ticks) * time.Second / clockTicks)
		}
		out = append(out, p)
	}
	return out, nil
}

func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
}

// startTicks is field 22 of /proc/PID/stat; the name in field 2 may hold
// spaces and parentheses, so fields are counted after its last ')'.
func startTicks(pid int32) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// After ')' comes field 3 (state), so field 22 is index 19.
	if len(f) < 20 {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	return t, err == nil
}
