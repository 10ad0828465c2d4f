package host

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLiveMachine reads the host through gopsutil and checks it against
// what the kernel says directly (uname, hostname).
func TestLiveMachine(t *testing.T) {
	ctx := context.Background()
	m, err := Live().Machine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	name, _ := os.Hostname()
	if m.Name != name || m.Kernel != unix.ByteSliceToString(u.Release[:]) {
		t.Errorf("got name %q kernel %q, want %q and %q", m.Name, m.Kernel, name, unix.ByteSliceToString(u.Release[:]))
	}
	if m.OS == "" || m.Uptime <= 0 || m.Booted.IsZero() || time.Since(m.Booted) < m.Uptime-time.Minute {
		t.Errorf("got %+v, want an OS, an uptime and a boot time that agree", m)
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil && strings.Contains(string(b), "ID=debian") {
		v, _ := os.ReadFile("/etc/debian_version")
		if want := "debian " + strings.TrimSpace(string(v)); m.OS != want {
			t.Errorf("os: got %q on a Debian host, want %q", m.OS, want)
		}
	}

	r, err := Live().Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.MemTotal == 0 || r.MemAvailable > r.MemTotal || r.SwapUsed > r.SwapTotal || r.CPUs <= 0 || r.Load1 < 0 {
		t.Errorf("resources: got %+v", r)
	}
}

// TestLiveFileFacts: a process's open files and their limit, as the
// kernel counts them (/proc/self/fd, getrlimit). The table reads them for
// nginx's processes only (TestLiveNginxFileFacts), so this reads them for
// this process directly.
func TestLiveFileFacts(t *testing.T) {
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	p := Process{PID: int32(os.Getpid())}
	readFileFacts(context.Background(), &p)
	if p.OpenFiles == nil || *p.OpenFiles < 4 { // stdin, stdout, stderr and f at least
		t.Errorf("open files: got %v, want at least 4", p.OpenFiles)
	}
	if p.FileLimit == nil || *p.FileLimit != lim.Cur {
		t.Errorf("file limit: got %v, want %d", p.FileLimit, lim.Cur)
	}
}

// TestMachineRecordReplay: host facts recorded live come back the same
// from the written recording; a recording made before they were read
// says they are not recorded instead of inventing a host.
func TestMachineRecordReplay(t *testing.T) {
	ctx := context.Background()
	rec := Record(Live())
	m, err := rec.Machine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Resources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := rec.Processes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rec.Recording().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadRecording(b)
	if err != nil {
		t.Fatal(err)
	}
	rp := Replay(loaded)
	gm, err := rp.Machine(ctx)
	if err != nil || !reflect.DeepEqual(gm.String(), m.String()) || !gm.Booted.Equal(m.Booted) {
		t.Errorf("machine: replayed %+v (%v), recorded %+v", gm, err, m)
	}
	if gr, err := rp.Resources(ctx); err != nil || gr != res {
		t.Errorf("resources: replayed %+v (%v), recorded %+v", gr, err, res)
	}
	gps, _ := rp.Processes(ctx)
	var self, replayed *Process
	for i := range ps {
		if ps[i].PID == int32(os.Getpid()) {
			self = &ps[i]
		}
	}
	for i := range gps {
		if gps[i].PID == int32(os.Getpid()) {
			replayed = &gps[i]
		}
	}
	if self == nil || replayed == nil || self.RSS == 0 || replayed.RSS != self.RSS || !replayed.Started.Equal(self.Started) ||
		!reflect.DeepEqual(replayed.Cmdline, self.Cmdline) || replayed.Exe != self.Exe || replayed.Cgroup != self.Cgroup {
		t.Errorf("process: replayed %+v, recorded %+v", replayed, self)
	}

	old := Replay(&Recording{Now: time.Now()})
	if _, err := old.Machine(ctx); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("machine from an old recording: got %v, want not recorded", err)
	}
	if _, err := old.Resources(ctx); !errors.Is(err, ErrNotRecorded) {
		t.Errorf("resources from an old recording: got %v, want not recorded", err)
	}
}

// BenchmarkLiveMachine is the report's host line: 70 ms when gopsutil's
// PlatformInformation ran lsb_release on Debian, under 0.5 ms from os-release.
func BenchmarkLiveMachine(b *testing.B) {
	l := Live()
	for b.Loop() {
		if m, err := l.Machine(context.Background()); err != nil || m.OS == "" {
			b.Fatal(m, err)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	for _, c := range []struct{ in, id, version string }{
		{"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n", "debian", "12"},
		{"NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n", "rocky", "9.3"},
		{"ID=alpine\nVERSION_ID=3.19.1\n", "alpine", "3.19.1"},
		{"ID='arch'\n", "arch", ""},
		{"garbage\n=\n", "", ""},
	} {
		if id, v := parseOSRelease(c.in); id != c.id || v != c.version {
			t.Errorf("%q: got %q %q, want %q %q", c.in, id, v, c.id, c.version)
		}
	}
}

func TestResourcesWords(t *testing.T) {
	calm := Resources{MemTotal: 8 << 30, MemAvailable: 5 << 30, SwapTotal: 1 << 30, SwapUsed: 10 << 20, Load1: 0.5, CPUs: 2}
	if p := calm.MemoryPressure(); p != "" {
		t.Errorf("a calm host: pressure %q", p)
	}
	tight := Resources{MemTotal: 2 << 30, MemAvailable: 100 << 20, SwapTotal: 1 << 30, SwapUsed: 900 << 20, Load1: 9, CPUs: 2}
	if p := tight.MemoryPressure(); p != "only 100 MiB of 2.0 GiB memory available, 900 MiB of 1.0 GiB swap in use" {
		t.Errorf("pressure: got %q", p)
	}
	if s := (Machine{Name: "vm", OS: "debian 12", Kernel: "6.1.0", Uptime: 90 * time.Minute}).String(); s != "vm (debian 12, kernel 6.1.0, up 1h 30m)" {
		t.Errorf("machine line: got %q", s)
	}
}
