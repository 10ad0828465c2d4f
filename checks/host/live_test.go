package host

import (
	"context"
	"errors"
	"fmt"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needRoot skips a test that needs root on a developer's machine, but fails
// it under CI, where a skipped root test would hide a broken feature.
func needRoot(t *testing.T) {
	t.Helper()
	labtest.Need(t, os.Geteuid() == 0, "needs root: it creates files owned by other users or changes the firewall")
}

func findListener(t *testing.T, ls []Listener, network, addr string) Listener {
	t.Helper()
	for _, l := range ls {
		if l.Network == network && l.Address == addr {
			return l
		}
	}
	t.Fatalf("no %s listener at %s among %d listeners", network, addr, len(ls))
	return Listener{}
}

func TestLiveListeners(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sys := Live()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	procName := filepath.Base(self)
	if len(procName) > 15 { // the kernel's comm is truncated to 15 bytes
		procName = procName[:15]
	}

	type listen struct {
		name    string
		network string
		addr    func(t *testing.T) string
	}
	sock := filepath.Join(t.TempDir(), "app.sock")
	cases := []listen{
		{"tcp on 127.0.0.1", "tcp", func(t *testing.T) string { return "127.0.0.1:0" }},
		{"tcp on [::1]", "tcp", func(t *testing.T) string {
			if l, err := net.Listen("tcp", "[::1]:0"); err != nil {
				t.Skipf("no IPv6 loopback on this host: %v", err)
			} else {
				l.Close()
			}
			return "[::1]:0"
		}},
		{"unix socket", "unix", func(t *testing.T) string { return sock }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen(tc.network, tc.addr(t))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			ls, err := sys.Listeners(ctx)
			if err != nil {
				t.Fatalf("Listeners: %v", err)
			}
			got := findListener(t, ls, tc.network, ln.Addr().String())
			if got.PID != int32(os.Getpid()) {
				t.Errorf("pid: got %d, want %d (this test)", got.PID, os.Getpid())
			}
			if got.Process != procName {
				t.Errorf("process: got %q, want %q", got.Process, procName)
			}
			if got.User == "" {
				t.Errorf("user is empty")
			}
			if tc.network == "tcp" {
				if got.Port != ln.Addr().(*net.TCPAddr).Port || got.Backlog == 0 {
					t.Errorf("got port %d backlog %d, want port %d and a known backlog", got.Port, got.Backlog, ln.Addr().(*net.TCPAddr).Port)
				}
			}
		})
	}
}

// listenRaw listens with an explicit backlog and never accepts, like a
// backend that has stopped keeping up.
func listenRaw(t *testing.T, family int, backlog int) (port int) {
	t.Helper()
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

func TestLiveListenerQueueFull(t *testing.T) {
	port := listenRaw(t, syscall.AF_INET, 1)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Dial more than the queue holds; the extra SYNs are dropped and those
	// dials time out, which is the point.
	done := make(chan net.Conn, 4)
	for range 4 {
		go func() {
			c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
			if err != nil {
				c = nil
			}
			done <- c
		}()
	}
	for range 4 {
		if c := <-done; c != nil {
			defer c.Close()
		}
	}
	ls, err := Live().Listeners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := findListener(t, ls, "tcp", addr)
	if got.Backlog != 1 || got.Queue < got.Backlog {
		t.Errorf("got queue %d backlog %d, want backlog 1 and a full queue (queue >= backlog)", got.Queue, got.Backlog)
	}
}

func TestLiveOpen(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "error.log")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(dir, "access.log")
	if err := os.WriteFile(regular, []byte("line one\nline two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	stderrIsFile := syscall.Fstat(2, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG

	cases := []struct {
		name    string
		path    string
		refused bool
		skip    bool
	}{
		{"a FIFO is refused without blocking", fifo, true, false},
		{"/dev/stderr is refused", "/dev/stderr", true, stderrIsFile},
		{"/dev/null is refused", "/dev/null", true, false},
		{"a regular file opens", regular, false, false},
		{"a symlinked log opens", link, false, false},
	}
	sys := Live()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip {
				t.Skip("stderr is redirected to a regular file here")
			}
			start := time.Now()
			f, err := sys.Open(tc.path)
			if d := time.Since(start); d > time.Second {
				t.Errorf("Open took %v", d)
			}
			if tc.refused {
				if !errors.Is(err, ErrNotRegular) {
					t.Fatalf("got %v, want an error wrapping ErrNotRegular", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, f.Size())
			if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if string(buf) != "line one\nline two\n" || f.Size() != 18 {
				t.Errorf("got %q (size %d)", buf, f.Size())
			}
		})
	}
	if _, err := sys.Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: got %v, want fs.ErrNotExist", err)
	}
}

func TestLiveLstat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("abc"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink("f", link); err != nil {
		t.Fatal(err)
	}
	sys := Live()
	fi, err := sys.Lstat(f)
	if err != nil || fi.Size != 3 || fi.Mode.Perm() != 0o640 || fi.UID != uint32(os.Getuid()) {
		t.Errorf("file: got %+v, %v", fi, err)
	}
	li, err := sys.Lstat(link)
	if err != nil || li.Mode&fs.ModeSymlink == 0 || li.Target != "f" {
		t.Errorf("symlink: got %+v, %v; want a symlink to f", li, err)
	}
}

func TestLiveRun(t *testing.T) {
	sys := Live()
	cases := []struct {
		name     string
		timeout  time.Duration
		argv     []string
		wantErr  error
		wantExit int
		wantOut  string
		wantLen  int
	}{
		{"output is kept", time.Second * 5, []string{"echo", "hello"}, nil, 0, "hello\n", -1},
		{"non-zero exit is not an error", time.Second * 5, []string{"false"}, nil, 1, "", -1},
		{"missing binary", time.Second * 5, []string{"ngxdoctor-no-such-tool"}, exec.ErrNotFound, 0, "", -1},
		{"output is capped", time.Second * 10, []string{"head", "-c", "5000000", "/dev/zero"}, nil, 0, "", outputCap},
		{"deadline stops a hung command", 200 * time.Millisecond, []string{"sleep", "5"}, context.DeadlineExceeded, -1, "", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			start := time.Now()
			out, err := sys.Run(ctx, tc.argv[0], tc.argv[1:]...)
			// Only a hung command has a time to keep: it must end at its
			// deadline, not when sleep would have.
			if took := time.Since(start); tc.wantErr == context.DeadlineExceeded && took >= 5*time.Second {
				t.Errorf("took %v: the deadline did not stop the command", took)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.ExitCode != tc.wantExit {
				t.Errorf("exit: got %d, want %d", out.ExitCode, tc.wantExit)
			}
			if tc.wantLen >= 0 && len(out.Stdout) != tc.wantLen {
				t.Errorf("stdout length: got %d, want %d", len(out.Stdout), tc.wantLen)
			}
			if tc.wantLen < 0 && string(out.Stdout) != tc.wantOut {
				t.Errorf("stdout: got %q, want %q", out.Stdout, tc.wantOut)
			}
		})
	}
}

func TestLiveProcesses(t *testing.T) {
	ps, err := Live().Processes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.PID != int32(os.Getpid()) {
			continue
		}
		if p.PPID != int32(os.Getppid()) || p.Exe == "" || len(p.Cmdline) == 0 || p.User == "" {
			t.Errorf("got %+v, want ppid, exe, cmdline and user filled in", p)
		}
		if p.Started.IsZero() || time.Since(p.Started) > time.Hour || time.Since(p.Started) < -time.Minute {
			t.Errorf("started: got %v, want a moment ago", p.Started)
		}
		return
	}
	t.Fatalf("this process (%d) is not among %d processes", os.Getpid(), len(ps))
}

// TestLiveNginxCmdline runs a real nginx: its master rewrites argv into one
// string, which discovery reads to find the config.
func TestLiveNginxCmdline(t *testing.T) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin, err = Live().LookPath("nginx")
		labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	cfg := "daemon off; pid " + dir + "/nginx.pid; error_log " + dir + "/error.log;\n" +
		"events {}\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM: the master stops its workers; a SIGKILL would orphan them.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ps, err := Live().Processes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.PID == int32(cmd.Process.Pid) && len(p.Cmdline) > 0 && strings.HasPrefix(p.Cmdline[0], "nginx: master process") {
				if len(p.Cmdline) != 1 || !strings.Contains(p.Cmdline[0], conf) {
					t.Errorf("cmdline: got %q, want one string naming %s", p.Cmdline, conf)
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("nginx master's rewritten cmdline never showed")
}

func BenchmarkListeners(b *testing.B) {
	var lns []net.Listener
	for range 1000 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		lns = append(lns, ln)
	}
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	sys := Live()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		ls, err := sys.Listeners(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ls) < 1000 {
			b.Fatalf("got %d listeners, want at least 1000", len(ls))
		}
	}
}

// TestLiveUnixQueueFull: a unix socket nobody accepts from fills up the way
// an overloaded php-fpm pool does, and nginx then gets "11: Resource
// temporarily unavailable".
func TestLiveUnixQueueFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fpm.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	var eagain bool
	for range 4 {
		// Non-blocking, as nginx connects: a full queue answers EAGAIN.
		c, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(c)
		if err := syscall.Connect(c, &syscall.SockaddrUnix{Name: path}); err == syscall.EAGAIN {
			eagain = true
		}
	}
	ls, err := Live().Listeners(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := findListener(t, ls, "unix", path)
	if !eagain || got.Backlog != 1 || got.Queue < got.Backlog {
		t.Errorf("got queue %d backlog %d (EAGAIN seen: %v), want backlog 1 and a full queue", got.Queue, got.Backlog, eagain)
	}
}

// TestProcFallbackAgrees: the /proc/net parsers, used when sock_diag is not
// allowed, find the same sockets as sock_diag.
func TestProcFallbackAgrees(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	uln, err := net.Listen("unix", filepath.Join(t.TempDir(), "a b.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	byAddr := func(es []sockEntry) map[string]sockEntry {
		m := map[string]sockEntry{}
		for _, e := range es {
			e.l.Backlog = 0 // /proc does not know it
			m[e.l.Network+" "+e.l.Address] = e
		}
		return m
	}
	for _, pair := range []struct {
		name       string
		diag, proc func() ([]sockEntry, error)
		key        string
	}{
		{"tcp", diagTCPListeners, procTCPListeners, "tcp " + ln.Addr().String()},
		{"unix", diagUnixListeners, procUnixListeners, "unix " + uln.Addr().String()},
	} {
		d, err := pair.diag()
		if err != nil {
			t.Fatalf("%s sock_diag: %v", pair.name, err)
		}
		p, err := pair.proc()
		if err != nil {
			t.Fatalf("%s /proc: %v", pair.name, err)
		}
		de, pe := byAddr(d)[pair.key], byAddr(p)[pair.key]
		if de.inode == 0 || de != pe {
			t.Errorf("%s: sock_diag %+v, /proc %+v", pair.name, de, pe)
		}
	}
}
