package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

func TestConnect(t *testing.T) {
	const timeout = 500 * time.Millisecond
	v4 := serve(t, listen(t, "tcp", "127.0.0.1:0"), func(c net.Conn) { c.Close() })
	v6 := serve(t, listen(t, "tcp", "[::1]:0"), func(c net.Conn) { c.Close() })
	// A port free on 127.0.0.1 and outside the ephemeral range, now taken on [::1] only.
	_, v6port, _ := net.SplitHostPort(refusedAddr(t, "127.0.0.1"))
	serve(t, listen(t, "tcp", "[::1]:"+v6port), func(c net.Conn) { c.Close() })

	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	serve(t, listen(t, "unix", sock), func(c net.Conn) { c.Close() })
	// A socket file left behind by a dead backend: the path exists, nobody listens.
	stale := filepath.Join(dir, "stale.sock")
	sl := listen(t, "unix", stale).(*net.UnixListener)
	sl.SetUnlinkOnClose(false)
	sl.Close()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	named := func(name, port string) nginx.Target {
		tg := tcpTarget("http", net.JoinHostPort("127.0.0.1", port))
		tg.Host, tg.Address = name, name+":"+port
		return tg
	}
	_, v4port, _ := net.SplitHostPort(v4)
	resolving := testSys{hosts: map[string][]string{
		// ::1 refuses on v4's port, so the name works only through its second address.
		"app.internal": {"::1", "127.0.0.1"},
	}}

	tests := []struct {
		name       string
		sys        testSys
		target     nginx.Target
		want       Status
		errno      int
		resolved   int
		inError    string
		slowerThan time.Duration
	}{
		{name: "accepting 127.0.0.1", target: tcpTarget("http", v4), want: Connected},
		{name: "accepting [::1]", target: tcpTarget("http", v6), want: Connected},
		{name: "refusing port", target: tcpTarget("http", refusedAddr(t, "127.0.0.1")), want: Refused, errno: 111},
		{name: "listener on [::1] only, target 127.0.0.1", target: tcpTarget("http", "127.0.0.1:"+v6port), want: Refused, errno: 111},
		{name: "full listen queue", target: tcpTarget("http", fullQueueTCP(t)), want: Timeout, errno: 110, slowerThan: timeout},
		{name: "unix accepting", target: unixTarget("unix", sock), want: Connected},
		{name: "unix missing", target: unixTarget("fastcgi", filepath.Join(dir, "missing.sock")), want: NoSuchFile, errno: 2},
		{name: "unix path through a file", target: unixTarget("unix", filepath.Join(notDir, "x.sock")), want: NoSuchFile, errno: 20},
		{name: "unix stale socket file", target: unixTarget("unix", stale), want: Refused, errno: 111},
		{name: "unix full listen queue", target: unixTarget("unix", fullQueueUnix(t)), want: Timeout, errno: 11, inError: "listen queue full"},
		{name: "dynamic", target: nginx.Target{Kind: "http", Address: "$backend", Dynamic: true}, want: Skipped},
		{name: "host name, second address accepts", sys: resolving, target: named("app.internal", v4port), want: Connected, resolved: 2},
		{name: "host name not found", sys: resolving, target: named("nosuch.internal", v4port), want: DNSError, inError: "could not be resolved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Connect(context.Background(), tc.sys, tc.target, timeout)
			if got.Status != tc.want || got.Errno != tc.errno {
				t.Fatalf("got %s (%d) %q, want %s (%d)", got.Status, got.Errno, got.Error, tc.want, tc.errno)
			}
			if !strings.Contains(got.Error, tc.inError) {
				t.Errorf("error %q, want it to say %q", got.Error, tc.inError)
			}
			if len(got.Resolved) != tc.resolved {
				t.Errorf("resolved %v, want %d addresses", got.Resolved, tc.resolved)
			}
			if got.Duration < tc.slowerThan || got.Duration > timeout+time.Second {
				t.Errorf("took %v, want between %v and %v", got.Duration, tc.slowerThan, timeout+time.Second)
			}
			if got.HTTP != nil {
				t.Errorf("Connect made a request: %+v", got.HTTP)
			}
		})
	}
}

func TestConnectHonoursCancel(t *testing.T) {
	addr := fullQueueTCP(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	got := Connect(ctx, sys, tcpTarget("http", addr), 10*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("canceled probe took %v", took)
	}
	if got.Status != Skipped {
		t.Fatalf("got %s %q, want %s", got.Status, got.Error, Skipped)
	}
}

func TestClassify(t *testing.T) {
	op := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		err   error
		want  Status
		errno int
	}{
		{op(syscall.EACCES), PermissionDenied, 13},
		{op(syscall.EPERM), PermissionDenied, 1},
		{op(syscall.ECONNREFUSED), Refused, 111},
		{op(syscall.ECONNRESET), Refused, 104},
		{op(syscall.ENOENT), NoSuchFile, 2},
		{op(syscall.ETIMEDOUT), Timeout, 110},
		{op(syscall.EAGAIN), Timeout, 11},
		{op(syscall.EHOSTUNREACH), Unreachable, 113},
		{op(syscall.ENETUNREACH), Unreachable, 101},
		{op(syscall.EADDRNOTAVAIL), Unreachable, 99},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, Timeout, 110},
		{context.DeadlineExceeded, Timeout, 110},
		{context.Canceled, Skipped, 0},
		{errors.New("something else"), Unreachable, 0},
	}
	for _, tc := range tests {
		t.Run(tc.err.Error(), func(t *testing.T) {
			got := classify(context.Background(), tc.err)
			if got.Status != tc.want || got.Errno != tc.errno {
				t.Fatalf("got %s (%d), want %s (%d)", got.Status, got.Errno, tc.want, tc.errno)
			}
			if got.Error == "" {
				t.Error("no error message")
			}
		})
	}
}
