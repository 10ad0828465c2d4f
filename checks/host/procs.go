package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// listProcesses reads the process table. Every process costs what every
// check needs of it, read straight from /proc in four small reads (stat,
// status, cmdline, cgroup) and one readlink (exe): gopsutil's per-field
// getters open /proc/PID/stat twice, status twice and /proc/stat once more
// for the boot time per process, which made the table most of a check's
// fixed cost (33 ms for 90 processes, against 5 ms). Open files and the
// file limit, which cost a directory listing and a parse of
// /proc/PID/limits, are read through gopsutil only for nginx processes:
// they are the only ones a check reads them for (nginx-resources, the
// workers' descriptors). Kernel threads (no command line) are left out:
// nothing ngxdoctor looks for is one. Fields a process does not let us read
// (another user's fd directory without root) stay unknown rather than zero.
func listProcesses(ctx context.Context, userName func(uint32) string) ([]Process, error) {
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	r := procReader{buf: make([]byte, 16<<10), boot: bootTime()}
	out := make([]Process, 0, len(pids))
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("list processes: %w", err)
		}
		p, ok := r.read(pid)
		if !ok {
			continue
		}
		p.User = userName(p.UID)
		if isNginx(p) {
			readFileFacts(ctx, &p)
		}
		out = append(out, p)
	}
	return out, nil
}

// isNginx: a process of nginx's (master, worker, cache helper), by its
// name or by the title nginx writes over its argv.
func isNginx(p Process) bool {
	return p.Name == "nginx" || len(p.Cmdline) > 0 && strings.HasPrefix(p.Cmdline[0], "nginx:")
}

// readFileFacts fills in p's open descriptors and soft RLIMIT_NOFILE.
func readFileFacts(ctx context.Context, p *Process) {
	gp := &process.Process{Pid: p.PID}
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
}

// procReader reads /proc files into one buffer with bare syscalls: os.File
// would register each with the poller and allocate, for files read once.
type procReader struct {
	buf  []byte
	boot time.Time // zero when /proc/stat has no btime
}

// file reads /proc/PID/NAME whole into the shared buffer (valid until the
// next call); nil when it cannot.
func (r *procReader) file(pid int32, name string) []byte {
	fd, err := syscall.Open("/proc/"+strconv.Itoa(int(pid))+"/"+name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(r.buf) {
			r.buf = append(r.buf, make([]byte, len(r.buf))...)
		}
		m, err := syscall.Read(fd, r.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			break
		}
		n += m
	}
	return r.buf[:n]
}

// read reads one process; false when it exited while we looked or is a
// kernel thread.
func (r *procReader) read(pid int32) (Process, bool) {
	p := Process{PID: pid}
	st, ok := parseStat(r.file(pid, "stat"))
	if !ok || st.name == "" {
		return Process{}, false // exited while we looked
	}
	p.Name, p.PPID = st.name, st.ppid
	if p.PID == 2 || p.PPID == 2 {
		return Process{}, false // kthreadd and its kernel threads
	}
	p.RSS = st.rssPages * uint64(os.Getpagesize())
	if !r.boot.IsZero() && st.startTicks > 0 {
		p.Started = r.boot.Add(time.Duration(st.startTicks) * time.Second / clockTicks).Truncate(time.Millisecond)
	}
	// comm is cut at 15 bytes; gopsutil then took the command's base name
	// when it starts with the cut name, and so do we (below).
	// The real uid, as ps shows it: php-fpm's pool children run as the
	// pool user with the master's saved uid.
	uid, ok := statusUID(r.file(pid, "status"))
	if !ok {
		return Process{}, false
	}
	p.UID = uid
	// nginx overwrites its argv with one title string padded with NULs;
	// the padding is dropped and the title kept as one element.
	p.Cmdline = splitCmdline(r.file(pid, "cmdline"))
	if len(st.name) >= 15 && len(p.Cmdline) > 0 {
		if base := baseName(p.Cmdline[0]); strings.HasPrefix(base, st.name) {
			p.Name = base
		}
	}
	p.Exe, _ = os.Readlink("/proc/" + strconv.Itoa(int(pid)) + "/exe")
	p.Cgroup = parseCgroup(string(r.file(pid, "cgroup")))
	return p, true
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's start time: 100 on
// every Linux architecture Go supports (the kernel fixes it for userspace).
const clockTicks = 100

type procStat struct {
	name       string
	ppid       int32
	startTicks uint64
	rssPages   uint64
}

// parseStat reads /proc/PID/stat: "pid (comm) state ppid ...", where comm
// may hold spaces and parentheses, so the fields start after the last ')'.
// Field 22 is the start time in clock ticks since boot, 24 the RSS in pages.
func parseStat(b []byte) (procStat, bool) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	st := procStat{name: string(b[open+1 : end])}
	// fields after comm: 3 state, 4 ppid, ..., 22 starttime, 23 vsize, 24 rss
	f := bytes.Fields(b[end+1:])
	if len(f) < 22 {
		return procStat{}, false
	}
	ppid, err := strconv.ParseInt(string(f[1]), 10, 32)
	if err != nil {
		return procStat{}, false
	}
	st.ppid = int32(ppid)
	st.startTicks, _ = strconv.ParseUint(string(f[19]), 10, 64)
	st.rssPages, _ = strconv.ParseUint(string(f[21]), 10, 64)
	return st, true
}

// statusUID is the real uid from /proc/PID/status's "Uid:" line.
func statusUID(b []byte) (uint32, bool) {
	i := bytes.Index(b, []byte("\nUid:"))
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+len("\nUid:"):])
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(f[0]), 10, 32)
	return uint32(n), err == nil
}

// splitCmdline splits /proc/PID/cmdline at its NULs as gopsutil does:
// the trailing NULs (nginx's title padding) are dropped, empty arguments
// inside kept.
func splitCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	out := make([]string, 0, bytes.Count(b, []byte{0})+1)
	for _, a := range bytes.Split(b, []byte{0}) {
		out = append(out, string(a))
	}
	return out
}

func baseName(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// bootTime is when the host booted, from /proc/stat's btime line, read
// once per listing (gopsutil read it again for every process).
func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	i := bytes.Index(b, []byte("\nbtime "))
	if i < 0 {
		return time.Time{}
	}
	f := bytes.Fields(b[i+len("\nbtime "):])
	if len(f) == 0 {
		return time.Time{}
	}
	n, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// Unlimited is how an rlimit of "unlimited" reads in FileLimit.
const Unlimited = math.MaxUint64

// ErrNotRecorded is what a replay answers for facts its recording lacks
// (recordings made before those facts were read, or programs it never
// looked up): unknown, which is not the same as absent.
var ErrNotRecorded = errors.New("not in the recording")
