package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// Connect connects to t as nginx would, within timeout, and closes the
// connection again. A host-name target is resolved first and every one of
// its addresses is tried (Result.Peers), since nginx sends requests to each;
// one deadline covers them all so that a probe never outlives timeout
// (DefaultTimeout when timeout <= 0).
func Connect(ctx context.Context, sys host.System, t nginx.Target, timeout time.Duration) Result {
	conn, res, _ := dial(ctx, sys, t, timeout)
	if conn != nil {
		conn.Close()
	}
	return res
}

// dial is Connect that keeps the connection for a request, and says which
// peer answered (one of a host name's addresses).
func dial(ctx context.Context, sys host.System, t nginx.Target, timeout time.Duration) (net.Conn, Result, peer) {
	start := time.Now()
	if t.Dynamic {
		return nil, Result{Status: Skipped, Error: "address comes from variables at request time; not probed"}, peer{}
	}
	if err := ctx.Err(); err != nil {
		return nil, canceled(err), peer{}
	}
	if sys == nil {
		return nil, Result{Status: Skipped, Error: "no system to dial through"}, peer{}
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var (
		conn net.Conn
		res  Result
		p    = peer{sys: sys}
	)
	if isUnix(t) {
		conn, res, p.address = dialUnix(ctx, sys, t)
		p.network = "unix"
	} else {
		conn, res, p.address = dialTCP(ctx, sys, t)
		p.network = "tcp"
	}
	res.Duration = time.Since(start)
	return conn, res, p
}

// peer is where a connection went, so that a second look can be taken.
type peer struct {
	sys              host.System
	network, address string
}

func isUnix(t nginx.Target) bool {
	return t.Network == "unix" || (t.Network == "" && strings.HasPrefix(t.Address, "unix:"))
}

// DefaultTimeout is used when a caller passes no timeout (the CLI's --timeout default).
const DefaultTimeout = 3 * time.Second

func dialUnix(ctx context.Context, sys host.System, t nginx.Target) (net.Conn, Result, string) {
	path := t.Path
	if path == "" {
		path = strings.TrimPrefix(t.Address, "unix:")
	}
	if path == "" {
		return nil, Result{Status: NoSuchFile, Errno: int(syscall.ENOENT), Error: "target has no socket path"}, ""
	}
	conn, err := sys.Dial(ctx, "unix", path)
	if err != nil {
		return nil, classify(ctx, err), path
	}
	return conn, Result{Status: Connected}, path
}

func dialTCP(ctx context.Context, sys host.System, t nginx.Target) (net.Conn, Result, string) {
	hostname, port, err := hostPort(t)
	if err != nil {
		return nil, Result{Status: Unreachable, Error: err.Error()}, ""
	}
	var res Result
	addrs := []string{hostname}
	if net.ParseIP(hostname) == nil {
		addrs, err = sys.LookupHost(ctx, hostname)
		if err != nil {
			if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, canceled(ctx.Err()), ""
			}
			return nil, Result{Status: DNSError, Error: dnsMessage(hostname, err)}, ""
		}
		if len(addrs) == 0 {
			return nil, Result{Status: DNSError, Error: hostname + " resolves to no address"}, ""
		}
		res.Resolved = addrs
	}

	// Every address is tried at once under the one deadline: nginx makes
	// each address of a name a server of its own and sends requests to
	// each in turn, so a refusal at one is a failure users meet even when
	// another address answers.
	type attempt struct {
		conn net.Conn
		peer Peer
	}
	tries := make([]attempt, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		addr := net.JoinHostPort(a, strconv.Itoa(port))
		wg.Go(func() {
			began := time.Now()
			conn, err := sys.Dial(ctx, "tcp", addr)
			p := Peer{Address: addr, Status: Connected, Duration: time.Since(began)}
			if err != nil {
				c := classify(ctx, err)
				p.Status, p.Errno, p.Error = c.Status, c.Errno, c.Error
			}
			tries[i] = attempt{conn, p}
		})
	}
	wg.Wait()
	var (
		conn     net.Conn
		at       string
		failures []string
	)
	for i, tr := range tries {
		if len(addrs) > 1 {
			res.Peers = append(res.Peers, tr.peer)
		}
		switch {
		case tr.conn != nil && conn == nil:
			conn, at = tr.conn, tr.peer.Address
		case tr.conn != nil:
			tr.conn.Close() // one connection is enough for the request
		default:
			if res.Errno == 0 || i == 0 {
				res.Status, res.Errno = tr.peer.Status, tr.peer.Errno
			}
			failures = append(failures, tr.peer.Error)
		}
	}
	if conn != nil {
		res.Status, res.Errno = Connected, 0
		if len(failures) > 0 {
			res.Error = "connected at " + at + ", but " + strings.Join(failures, "; ")
		}
		return conn, res, at
	}
	res.Error = strings.Join(failures, "; ")
	return nil, res, ""
}

// hostPort takes the dial host and port from t, falling back to its Address
// and to the scheme's default port as nginx does.
func hostPort(t nginx.Target) (string, int, error) {
	h, port := strings.Trim(t.Host, "[]"), t.Port
	if h == "" || port == 0 {
		ah, ap, err := net.SplitHostPort(t.Address)
		if err != nil {
			// nginx allows "proxy_pass http://backend;" without a port.
			ah, ap = strings.Trim(t.Address, "[]"), ""
		}
		if h == "" {
			h = ah
		}
		if port == 0 && ap != "" {
			p, err := strconv.Atoi(ap)
			if err != nil || p <= 0 || p > 65535 {
				return "", 0, fmt.Errorf("bad port %q in %q", ap, t.Address)
			}
			port = p
		}
	}
	if port == 0 {
		port = 80
		if t.Kind == "https" {
			port = 443
		}
	}
	if h == "" {
		return "", 0, fmt.Errorf("no host in target %q", t.Address)
	}
	if port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %d in target %q", port, t.Address)
	}
	return h, port, nil
}

func dnsMessage(hostname string, err error) string {
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			return hostname + " could not be resolved (host not found)"
		case de.IsTimeout:
			return hostname + " could not be resolved (timed out)"
		}
	}
	return fmt.Sprintf("%s could not be resolved: %v", hostname, err)
}

func canceled(err error) Result {
	return Result{Status: Skipped, Error: "probe canceled: " + err.Error()}
}

// classify names a dial error the way nginx's error log would, so that a
// probe and a log line can be matched by status and errno.
func classify(ctx context.Context, err error) Result {
	msg := err.Error()
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Result{Status: Refused, Errno: int(syscall.ECONNREFUSED), Error: msg}
	case errors.Is(err, syscall.ECONNRESET):
		// A reset during the handshake is refusal in all but name.
		return Result{Status: Refused, Errno: int(syscall.ECONNRESET), Error: msg}
	case errors.Is(err, syscall.EACCES):
		return Result{Status: PermissionDenied, Errno: int(syscall.EACCES), Error: msg}
	case errors.Is(err, syscall.EPERM):
		// Keep the real errno: nginx logs "1: Operation not permitted" (a
		// firewall or seccomp), which must match the log line.
		return Result{Status: PermissionDenied, Errno: int(syscall.EPERM), Error: msg}
	case errors.Is(err, syscall.ENOENT):
		return Result{Status: NoSuchFile, Errno: int(syscall.ENOENT), Error: msg}
	case errors.Is(err, syscall.ENOTDIR):
		return Result{Status: NoSuchFile, Errno: int(syscall.ENOTDIR), Error: msg}
	case errors.Is(err, syscall.EAGAIN):
		// A unix listener's full queue: nginx logs 11 and answers 502; the
		// backend is not accepting in time, which is what Timeout means here.
		return Result{Status: Timeout, Errno: int(syscall.EAGAIN), Error: "listen queue full: " + msg}
	case errors.Is(err, syscall.ETIMEDOUT):
		return Result{Status: Timeout, Errno: int(syscall.ETIMEDOUT), Error: msg}
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Result{Status: Unreachable, Errno: int(syscall.EHOSTUNREACH), Error: msg}
	case errors.Is(err, syscall.ENETUNREACH):
		return Result{Status: Unreachable, Errno: int(syscall.ENETUNREACH), Error: msg}
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return Result{Status: Unreachable, Errno: int(syscall.EADDRNOTAVAIL), Error: msg}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		// SYNs dropped by a full TCP listen queue or a DROP rule end here.
		return Result{Status: Timeout, Errno: int(syscall.ETIMEDOUT), Error: "connect timed out: " + msg}
	case errors.Is(err, context.Canceled):
		return canceled(err)
	}
	if ctx != nil && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{Status: Timeout, Errno: int(syscall.ETIMEDOUT), Error: "connect timed out: " + msg}
		}
		return canceled(ctx.Err())
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return Result{Status: Unreachable, Errno: int(errno), Error: msg}
	}
	return Result{Status: Unreachable, Error: msg}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
