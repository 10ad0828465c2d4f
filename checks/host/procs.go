package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// listProcesses reads the process table through gopsutil. Kernel threads
// (no executable, no command line) are left out: nothing ngxdoctor looks
// for is one. Fields a process does not let us read (another user's fd
// directory without root) stay unknown rather than zero.
func listProcesses(ctx context.Context, userName func(uint32) string) ([]Process, error) {
	all, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := make([]Process, 0, len(all))
	for _, gp := range all {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("list processes: %w", err)
		}
		if p, ok := readProcess(ctx, gp, userName); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// readProcess reads one process; false when it exited while we looked or
// is a kernel thread.
func readProcess(ctx context.Context, gp *process.Process, userName func(uint32) string) (Process, bool) {
	name, err := gp.NameWithContext(ctx)
	if err != nil || name == "" {
		return Process{}, false // exited while we looked
	}
	p := Process{PID: gp.Pid, Name: name}
	p.PPID, _ = gp.PpidWithContext(ctx)
	if p.PID == 2 || p.PPID == 2 {
		return Process{}, false // kthreadd and its kernel threads
	}
	// The real uid, as ps shows it: php-fpm's pool children run as the
	// pool user with the master's saved uid.
	if uids, err := gp.UidsWithContext(ctx); err == nil && len(uids) > 0 {
		p.UID = uids[0]
		p.User = userName(p.UID)
	}
	p.Exe, _ = gp.ExeWithContext(ctx)
	// nginx overwrites its argv with one title string padded with NULs;
	// gopsutil drops the padding and keeps the title as one element.
	p.Cmdline, _ = gp.CmdlineSliceWithContext(ctx)
	p.Cgroup = readCgroup(p.PID)
	if ms, err := gp.CreateTimeWithContext(ctx); err == nil && ms > 0 {
		p.Started = time.UnixMilli(ms)
	}
	if m, err := gp.MemoryInfoWithContext(ctx); err == nil {
		p.RSS = m.RSS
	}
	if n, err := gp.NumFDsWithContext(ctx); err == nil {
		p.OpenFiles = &n
	}
	if lims, err := gp.RlimitWithContext(ctx); err == nil {
		for _, l := range lims {
			if l.Resource == process.RLIMIT_NOFILE {
				soft := l.Soft
				p.FileLimit = &soft
			}
		}
	}
	return p, true
}

// Unlimited is how an rlimit of "unlimited" reads in FileLimit.
const Unlimited = math.MaxUint64

// readCgroup returns the unified (v2) cgroup path, or on a v1 host the
// name=systemd hierarchy's, since that is the one naming the unit.
// gopsutil has no reader for it; it is one small text file.
func readCgroup(pid int32) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	return parseCgroup(string(b))
}

// ErrNotRecorded is what a replay answers for facts its recording lacks
// (recordings made before those facts were read, or programs it never
// looked up): unknown, which is not the same as absent.
var ErrNotRecorded = errors.New("not in the recording")
