package fixes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// listenQueue is a php-fpm pool's listening socket whose accept queue the
// fix raises in place. php-fpm's reload (USR2) re-executes the master with
// the socket it already has (FPM_SOCKETS) and never calls listen(2) on it
// again, so a new listen.backlog in the pool file waits for a restart.
// Linux takes listen(2) again on a listening socket as a new backlog: the
// fix borrows the master's socket (pidfd_getfd), calls listen(2) on it with
// the value now written in the pool file, and closes its copy. Undo calls
// it again with the old value. No connection is dropped, unlike a restart.
type listenQueue struct {
	PID  int    `json:"pid"`
	Name string `json:"name"` // "php-fpm": the pid must still be one
	// Listen is the pool's listen: a socket path, "host:port" or "port".
	Listen string `json:"listen"`
	From   int    `json:"from"`
	To     int    `json:"to"`
}

func (q listenQueue) String() string {
	return fmt.Sprintf("listen(2) on %s's socket %s (pid %d) with backlog %d", q.Name, q.Listen, q.PID, q.To)
}

// noBorrow says the kernel or our rights lend no descriptor of another
// process (pidfd_open before Linux 5.3, pidfd_getfd before 5.6: ENOSYS; no
// ptrace rights over it: EPERM): nothing was changed. listen(2) and the
// table check never fail with these.
func noBorrow(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM)
}

// setQueue is setListenQueue, or the test's stand-in.
func (e *Engine) setQueue(ctx context.Context, q listenQueue, n int) error {
	if e.listenQueue != nil {
		return e.listenQueue(ctx, q, n)
	}
	return setListenQueue(ctx, q, n)
}

// setListenQueue gives the socket of q's master that listens at q.Listen
// the backlog n, and reads the listener table to see the kernel took it.
func setListenQueue(ctx context.Context, q listenQueue, n int) error {
	if !alive(q.PID, q.Name) {
		return fmt.Errorf("listen queue: pid %d is no longer %s", q.PID, q.Name)
	}
	pidfd, err := unix.PidfdOpen(q.PID, 0)
	if err != nil {
		return fmt.Errorf("listen queue: pidfd_open %d: %w", q.PID, err)
	}
	defer unix.Close(pidfd)
	// Checked again through the pidfd's process: a pid reused since the
	// check above could not be this one.
	if !alive(q.PID, q.Name) {
		return fmt.Errorf("listen queue: pid %d is no longer %s", q.PID, q.Name)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", q.PID))
	if err != nil {
		return fmt.Errorf("listen queue: %w", err)
	}
	for _, d := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", q.PID, d.Name()))
		if err != nil || !strings.HasPrefix(target, "socket:") {
			continue
		}
		n0, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n0, 0)
		if err != nil {
			return fmt.Errorf("listen queue: pidfd_getfd %d of pid %d: %w", n0, q.PID, err)
		}
		ok := listensAt(fd, q.Listen)
		if ok {
			err = unix.Listen(fd, n)
		}
		unix.Close(fd)
		if !ok {
			continue
		}
		if err != nil {
			return fmt.Errorf("listen queue: listen(2) on %s: %w", q.Listen, err)
		}
		return checkBacklog(ctx, q.Listen, n)
	}
	return fmt.Errorf("listen queue: pid %d has no socket listening at %s", q.PID, q.Listen)
}

// sysctl reads a kernel limit such as "net/core/somaxconn"; ok is false
// when it cannot be read.
func (e *Engine) sysctl(name string) (int, bool) {
	dir := "/proc/sys"
	if e != nil && e.ProcSys != "" {
		dir = e.ProcSys
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return n, err == nil && n > 0
}

// procDir is /proc, or the parent of the test's ProcSys.
func (e *Engine) procDir() string {
	if e != nil && e.ProcSys != "" {
		return filepath.Dir(e.ProcSys)
	}
	return "/proc"
}

// somaxconn is the kernel's cap on every listen(2) backlog (128 before
// Linux 5.4, 4096 since); php-fpm's default when it cannot be read.
func (e *Engine) somaxconn() int {
	if n, ok := e.sysctl("net/core/somaxconn"); ok {
		return n
	}
	return fpmBacklog
}

// listensAt reports whether fd is a listening socket bound to listen, as a
// php-fpm pool writes it ("/run/php.sock", "127.0.0.1:9000", "9000").
func listensAt(fd int, listen string) bool {
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		return false
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	switch a := sa.(type) {
	case *unix.SockaddrUnix:
		return strings.HasPrefix(listen, "/") && a.Name == listen
	case *unix.SockaddrInet4:
		return inetMatches(listen, net.IP(a.Addr[:]), a.Port)
	case *unix.SockaddrInet6:
		return inetMatches(listen, net.IP(a.Addr[:]), a.Port)
	}
	return false
}

func inetMatches(listen string, ip net.IP, port int) bool {
	if p, err := strconv.Atoi(listen); err == nil {
		return p == port
	}
	h, p, err := net.SplitHostPort(listen)
	if err != nil || p != strconv.Itoa(port) {
		return false
	}
	want := net.ParseIP(h)
	return want != nil && want.Equal(ip)
}

// checkBacklog reads the listener table (sock_diag) for the new limit.
func checkBacklog(ctx context.Context, listen string, n int) error {
	ls, err := host.Live().Listeners(ctx)
	if err != nil {
		return nil // listen(2) succeeded; the table is only a second look
	}
	port := listen[strings.LastIndex(listen, ":")+1:]
	for _, l := range ls {
		tcp := !strings.HasPrefix(listen, "/") && l.Network == "tcp" && strconv.Itoa(l.Port) == port
		if l.Address != listen && !tcp {
			continue
		}
		// The kernel silently caps listen(2) at net.core.somaxconn: what
		// it took is all there is to have, not a failure.
		if soma, ok := (*Engine)(nil).sysctl("net/core/somaxconn"); ok && n > soma && l.Backlog == soma {
			return nil
		}
		if l.Backlog > 0 && l.Backlog != n {
			return fmt.Errorf("listen queue: %s still has a backlog of %d, not %d", listen, l.Backlog, n)
		}
		return nil
	}
	return errors.New("listen queue: " + listen + " is not in the listener table any more")
}
