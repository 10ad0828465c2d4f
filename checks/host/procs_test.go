package host

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestLiveProcessesAgreeWithGopsutil: the table's own /proc reader says
// what gopsutil's getters say of the same processes (this test and its
// parent, which live throughout): name, parent, real uid, command line,
// executable, start time and resident memory.
func TestLiveProcessesAgreeWithGopsutil(t *testing.T) {
	ctx := context.Background()
	ps, err := Live().Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int32{int32(os.Getpid()), int32(os.Getppid())} {
		var got *Process
		for i := range ps {
			if ps[i].PID == pid {
				got = &ps[i]
			}
		}
		if got == nil {
			t.Fatalf("pid %d is not in the table", pid)
		}
		gp, err := process.NewProcessWithContext(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := gp.NameWithContext(ctx)
		ppid, _ := gp.PpidWithContext(ctx)
		uids, _ := gp.UidsWithContext(ctx)
		cmdline, _ := gp.CmdlineSliceWithContext(ctx)
		exe, _ := gp.ExeWithContext(ctx)
		created, _ := gp.CreateTimeWithContext(ctx)
		mem, err := gp.MemoryInfoWithContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != name || got.PPID != ppid || len(uids) == 0 || got.UID != uids[0] || !reflect.DeepEqual(got.Cmdline, cmdline) || got.Exe != exe {
			t.Errorf("pid %d: got name %q ppid %d uid %d cmdline %q exe %q; gopsutil says %q %d %v %q %q",
				pid, got.Name, got.PPID, got.UID, got.Cmdline, got.Exe, name, ppid, uids, cmdline, exe)
		}
		// Both count in clock ticks from the same boot time; gopsutil
		// rounds through a float.
		if d := got.Started.Sub(time.UnixMilli(created)); d < -10*time.Millisecond || d > 10*time.Millisecond {
			t.Errorf("pid %d: started %s, gopsutil says %s", pid, got.Started, time.UnixMilli(created))
		}
		// Memory moves between the two reads; the same order of magnitude
		// shows the unit (pages vs bytes) is right.
		if got.RSS == 0 || got.RSS > 2*mem.RSS || mem.RSS > 2*got.RSS {
			t.Errorf("pid %d: rss %d bytes, gopsutil says %d", pid, got.RSS, mem.RSS)
		}
		if got.User == "" {
			t.Errorf("pid %d: no user name", pid)
		}
	}
}

// TestLiveNginxFileFacts: against a real nginx, the table has the open
// files and file limit of the master and every worker, as the kernel
// counts them, and they survive a recording; a process that is not
// nginx's (this test) does not cost that read.
func TestLiveNginxFileFacts(t *testing.T) {
	sc, ok := lab.Find("healthy")
	if !ok {
		t.Fatal("no healthy scenario")
	}
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := lab.Start(ctx, sc)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer l.Close()
	want := map[int32]bool{int32(l.NginxPID()): true}
	for pid := range l.Workers() {
		want[int32(pid)] = true
	}
	if len(want) < 2 {
		t.Fatalf("lab nginx: master and workers %v, want at least one worker", want)
	}
	// A master just started still opens and closes files: the table is
	// compared with the kernel's count only when that count is the same
	// just before and just after the table was read.
	fdCounts := func() map[int32]int {
		n := map[int32]int{}
		for pid := range want {
			fds, err := os.ReadDir("/proc/" + strconv.Itoa(int(pid)) + "/fd")
			if err != nil {
				t.Fatal(err)
			}
			n[pid] = len(fds)
		}
		return n
	}
	var rec *Recorder
	var ps []Process
	var kernel map[int32]int
	for try := 0; ; try++ {
		before := fdCounts()
		rec = Record(Live())
		if ps, err = rec.Processes(ctx); err != nil {
			t.Fatal(err)
		}
		if kernel = fdCounts(); reflect.DeepEqual(before, kernel) {
			break
		}
		if try == 50 {
			t.Fatalf("nginx's open files did not settle: %v, then %v", before, kernel)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, err := rec.Recording().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadRecording(b)
	if err != nil {
		t.Fatal(err)
	}
	replayed, _ := Replay(loaded).Processes(ctx)
	for i, p := range ps {
		if p.PID == int32(os.Getpid()) && (p.OpenFiles != nil || p.FileLimit != nil) {
			t.Errorf("this test's process: open files %v, limit %v read, want them left unread", p.OpenFiles, p.FileLimit)
		}
		if !want[p.PID] {
			continue
		}
		delete(want, p.PID)
		// prlimit(2) on another user's process needs CAP_SYS_RESOURCE;
		// /proc/PID/limits is what the kernel shows anyone.
		limits, err := os.ReadFile("/proc/" + strconv.Itoa(int(p.PID)) + "/limits")
		if err != nil {
			t.Fatal(err)
		}
		var soft uint64
		for _, line := range strings.Split(string(limits), "\n") {
			if f := strings.Fields(strings.TrimPrefix(line, "Max open files")); len(f) > 0 && strings.HasPrefix(line, "Max open files") {
				soft, _ = strconv.ParseUint(f[0], 10, 64)
			}
		}
		if soft == 0 {
			t.Fatalf("no open files limit in %s", limits)
		}
		if p.OpenFiles == nil || int(*p.OpenFiles) != kernel[p.PID] || p.FileLimit == nil || *p.FileLimit != soft {
			t.Errorf("nginx pid %d (%q): open files %s, limit %s; the kernel says %d of %d", p.PID, p.Cmdline, deref(p.OpenFiles), deref(p.FileLimit), kernel[p.PID], soft)
		}
		if r := replayed[i]; r.PID != p.PID || r.OpenFiles == nil || *r.OpenFiles != *p.OpenFiles || r.FileLimit == nil || *r.FileLimit != *p.FileLimit {
			t.Errorf("nginx pid %d: replayed %+v, recorded %+v", p.PID, r, p)
		}
	}
	if len(want) > 0 {
		t.Errorf("nginx pids %v are not in the table", want)
	}
}

func deref[T any](p *T) string {
	if p == nil {
		return "unknown"
	}
	return fmt.Sprint(*p)
}

// FuzzProcStat: /proc/PID/stat and status parse without panicking, and a
// name is what lies between the first '(' and the last ')'.
func FuzzProcStat(f *testing.F) {
	f.Add([]byte("1234 (nginx: a) b) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 11111 222 18446744073709551615\n"))
	f.Add([]byte("Name:\tnginx\nUid:\t33\t33\t33\t33\n"))
	f.Add([]byte("1 ("))
	f.Fuzz(func(t *testing.T, b []byte) {
		if st, ok := parseStat(b); ok && len(st.name)+2 > len(b) {
			t.Errorf("name %q longer than its input", st.name)
		}
		statusUID(b)
		splitCmdline(b)
	})
}

// BenchmarkLiveProcesses is the cost of one read of the process table
// (33 ms for 90 processes through gopsutil's getters, 5 ms now).
func BenchmarkLiveProcesses(b *testing.B) {
	l := Live()
	for b.Loop() {
		ps, err := l.Processes(context.Background())
		if err != nil || len(ps) == 0 {
			b.Fatal(err)
		}
	}
}

// BenchmarkGopsutilProcesses reads the same fields through gopsutil's
// getters (boot time cached), the reference BenchmarkLiveProcesses is
// compared with in the README: why the per-process fields come from /proc.
func BenchmarkGopsutilProcesses(b *testing.B) {
	process.EnableBootTimeCache(true)
	defer process.EnableBootTimeCache(false)
	ctx := context.Background()
	for b.Loop() {
		pids, err := process.PidsWithContext(ctx)
		if err != nil || len(pids) == 0 {
			b.Fatal(err)
		}
		for _, pid := range pids {
			p := &process.Process{Pid: pid}
			_, _ = p.PpidWithContext(ctx)
			_, _ = p.NameWithContext(ctx)
			_, _ = p.UidsWithContext(ctx)
			_, _ = p.CreateTimeWithContext(ctx)
			_, _ = p.CmdlineSliceWithContext(ctx)
			_, _ = p.ExeWithContext(ctx)
			_, _ = p.MemoryInfoWithContext(ctx)
		}
	}
}
