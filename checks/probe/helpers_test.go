package probe

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// testSys dials and resolves for real; names in hosts resolve without DNS
// so that tests never leave loopback.
type testSys struct {
	hosts map[string][]string
}

var errNotInProbeTests = errors.New("not used by probe tests")

func (testSys) Now() time.Time           { return time.Now() }
func (testSys) Location() *time.Location { return time.Local }
func (testSys) Euid() int                { return os.Geteuid() }
func (testSys) Processes(context.Context) ([]host.Process, error) {
	return nil, errNotInProbeTests
}
func (testSys) Machine(context.Context) (host.Machine, error) {
	return host.Machine{}, errNotInProbeTests
}
func (testSys) Resources(context.Context) (host.Resources, error) {
	return host.Resources{}, errNotInProbeTests
}
func (testSys) Listeners(context.Context) ([]host.Listener, error) {
	return nil, errNotInProbeTests
}
func (testSys) Lstat(string) (host.FileInfo, error)    { return host.FileInfo{}, errNotInProbeTests }
func (testSys) Open(string) (host.File, error)         { return nil, errNotInProbeTests }
func (testSys) Glob(string) ([]string, error)          { return nil, errNotInProbeTests }
func (testSys) LookupUser(string) (host.User, error)   { return host.User{}, errNotInProbeTests }
func (testSys) LookupUserID(uint32) (host.User, error) { return host.User{}, errNotInProbeTests }
func (testSys) LookupGroupID(uint32) (string, error)   { return "", errNotInProbeTests }
func (testSys) Run(context.Context, string, ...string) (host.Output, error) {
	return host.Output{}, errNotInProbeTests
}
func (testSys) LookPath(string) (string, error) { return "", errNotInProbeTests }

func (s testSys) LookupHost(ctx context.Context, name string) ([]string, error) {
	if s.hosts != nil {
		if a, ok := s.hosts[name]; ok {
			return a, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return net.DefaultResolver.LookupHost(ctx, name)
}

func (testSys) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

var sys = testSys{}

// tcpTarget is a target as the config model builds it.
func tcpTarget(kind, addr string) nginx.Target {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		panic(err)
	}
	port, _ := strconv.Atoi(p)
	return nginx.Target{Kind: kind, Network: "tcp", Address: addr, Host: h, Port: port}
}

func unixTarget(kind, path string) nginx.Target {
	return nginx.Target{Kind: kind, Network: "unix", Address: "unix:" + path, Path: path}
}

// serve accepts on ln until the test ends, handing each connection to h.
func serve(t testing.TB, ln net.Listener, h func(net.Conn)) string {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { h(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	return ln
}

// readRequest reads up to the blank line that ends a request header.
func readRequest(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	var req []byte
	for {
		line, err := r.ReadString('\n')
		req = append(req, line...)
		if err != nil || line == "\r\n" || line == "\n" {
			return string(req)
		}
	}
}

// answer is a backend that reads the request and writes resp after delay.
func answer(resp string, delay time.Duration) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		readRequest(c)
		time.Sleep(delay)
		c.Write([]byte(resp))
	}
}

// refusedAddrs are n loopback ports that were bound and closed again. They
// come from below the kernel's ephemeral range (32768-60999), so that no
// other program on the machine is handed one by bind(port 0) meanwhile.
func refusedAddrs(tb testing.TB, ip string, n int) []string {
	tb.Helper()
	var lns []net.Listener
	for tries := 0; len(lns) < n && tries < 100*n; tries++ {
		port := 20000 + mrand.IntN(12000)
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			lns = append(lns, ln)
		}
	}
	if len(lns) < n {
		tb.Fatalf("found only %d free ports on %s", len(lns), ip)
	}
	addrs := make([]string, n)
	for i, ln := range lns {
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	return addrs
}

func refusedAddr(tb testing.TB, ip string) string {
	tb.Helper()
	return refusedAddrs(tb, ip, 1)[0]
}

// fullQueueTCP is a listener with backlog 1 that never accepts, filled
// until the kernel drops new SYNs: a connect to it hangs until its deadline.
func fullQueueTCP(tb testing.TB) string {
	tb.Helper()
	return fullQueuesTCP(tb, 1)[0]
}

// fullQueuesTCP makes n of them, filling them side by side.
func fullQueuesTCP(tb testing.TB, n int) []string {
	tb.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = rawListener(tb)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Go(func() { errs[i] = fill(tb, "tcp", a) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return addrs
}

// rawListener listens on 127.0.0.1 with backlog 1 and never accepts
// (net.Listen would use somaxconn).
func rawListener(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatalf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// fullQueueUnix is the same for a unix socket, where a full queue makes
// connect fail at once with EAGAIN (nginx's "11: Resource temporarily unavailable").
func fullQueueUnix(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "busy.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := fill(t, "unix", path); err != nil {
		t.Fatal(err)
	}
	return path
}

// fill connects until the listen queue is full and a connect hangs,
// keeping the connections open. It may run in several goroutines at once,
// so it returns its failure.
func fill(t testing.TB, network, addr string) error {
	// Filling connects get a long deadline, so that a busy machine does not
	// stop the filling early; only the check that the queue is full is short.
	wait := 5 * time.Second
	for i := range 16 {
		c, err := net.DialTimeout(network, addr, wait)
		if err != nil {
			if i == 0 {
				return fmt.Errorf("listen queue of %s: first connect failed: %w", addr, err)
			}
			return nil
		}
		t.Cleanup(func() { c.Close() })
		// The kernel queues backlog+1 connections; after that, check.
		if i >= 1 {
			wait = 300 * time.Millisecond
		}
	}
	return fmt.Errorf("listen queue of %s never filled", addr)
}

// tlsConfig is a self-signed certificate for 127.0.0.1 and localhost.
func tlsConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// raiseNoFile lifts the descriptor limit for tests that hold many sockets.
func raiseNoFile(t testing.TB, want uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		t.Fatalf("RLIMIT_NOFILE hard limit %d is below the %d descriptors this test needs", lim.Max, want)
	}
	old := lim
	lim.Cur = want
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}
