package lab

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// listen opens a TCP listener that Close closes.
func (l *Lab) listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l.addCloser(func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	return ln, nil
}

// serveHTTP runs a Go HTTP backend on ln until Close.
func (l *Lab) serveHTTP(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// Close, not Shutdown: a sleeping handler must not delay the lab's end.
	l.addCloser(srv.Close)
}

// okHandler is a healthy backend.
func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
}

// serveRaw runs handle on every connection accepted on ln until Close, for
// backends that break HTTP in ways net/http will not.
func (l *Lab) serveRaw(ln net.Listener, handle func(net.Conn)) {
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				handle(c)
			}()
		}
	}()
	l.addCloser(func() error {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		return nil
	})
}

// readRequest reads a request's header, so that a backend fails after nginx
// has sent it, as a crashing application would.
func readRequest(c net.Conn) bool {
	tp := textproto.NewReader(bufio.NewReader(c))
	if _, err := tp.ReadLine(); err != nil {
		return false
	}
	_, err := tp.ReadMIMEHeader()
	return err == nil
}

// serveDNS answers every query on a loopback UDP port with NXDOMAIN, a
// resolver that knows no names.
func (l *Lab) serveDNS() (string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if reply := nxdomain(buf[:n]); reply != nil {
				_, _ = pc.WriteTo(reply, from)
			}
		}
	}()
	l.addCloser(func() error {
		err := pc.Close()
		<-done
		return err
	})
	return pc.LocalAddr().String(), nil
}

// nxdomain builds the answer "no such name" to a one-question query.
func nxdomain(q []byte) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	i := 12
	for i < len(q) && q[i] != 0 {
		i += int(q[i]) + 1
	}
	end := i + 1 + 4 // the root label, QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	r := make([]byte, end)
	copy(r, q[:end])
	// QR=1, same opcode and RD, RA=1, RCODE=3 (NXDOMAIN); one question, no records.
	r[2] = 0x80 | q[2]&0x79
	r[3] = 0x80 | 3
	binary.BigEndian.PutUint16(r[4:], 1)
	clear(r[6:12])
	return r
}

// overloadedListener is a loopback TCP socket with a backlog of 1 that never
// accepts, with its queue filled by the lab's own connections: a new
// connection's SYN is dropped, as at a backend that cannot keep up.
func (l *Lab) overloadedListener() (string, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	l.addCloser(func() error { return syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return "", err
	}
	if err := syscall.Listen(fd, 1); err != nil {
		return "", err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return "", err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))

	var conns []net.Conn
	l.addCloser(func() error {
		for _, c := range conns {
			c.Close()
		}
		return nil
	})
	// Linux queues backlog+1 connections; fill until a connect hangs.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return addr, nil
			}
			return "", err
		}
		conns = append(conns, c)
	}
	return "", fmt.Errorf("listen queue of %s never filled", addr)
}

// phpFPM runs a real php-fpm whose pool listens on DIR/run/php-fpm.sock with
// the given owner, group and mode, and serves DIR/www.
func (l *Lab) phpFPM(ctx context.Context, owner, group, mode string) (string, error) {
	bin := "/usr/sbin/php-fpm8.2"
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("php-fpm not found (install php8.2-fpm): %w", err)
	}
	sock := filepath.Join(l.Dir, "run", "php-fpm.sock")
	conf := filepath.Join(l.Dir, "php-fpm.conf")
	logPath := filepath.Join(l.Dir, "php-fpm.log")
	text := fmt.Sprintf(`; ngxdoctor lab: php-fpm for %[2]s
[global]
pid = %[1]s/run/php-fpm.pid
error_log = %[3]s
daemonize = no

[www]
user = www-data
group = www-data
listen = %[4]s
listen.owner = %[5]s
listen.group = %[6]s
listen.mode = %[7]s
pm = static
pm.max_children = 1
`, l.Dir, l.Scenario.Name, logPath, sock, owner, group, mode)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", err
	}
	l.PHPFPM = conf
	if err := os.WriteFile(filepath.Join(l.Dir, "www", "index.php"), []byte("<?php echo \"ok\\n\";\n"), 0o644); err != nil {
		return "", err
	}
	c, err := l.spawn(bin, "-F", "-y", conf, "-p", l.Dir)
	if err != nil {
		return "", err
	}
	l.addCloser(func() error { return stopChild(c, syscall.SIGQUIT) })

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return sock, nil
		}
		why := ""
		select {
		case <-c.done:
			why = fmt.Sprintf("php-fpm exited: %v", c.err)
		case <-ctx.Done():
			why = fmt.Sprintf("php-fpm socket %s did not appear: %v", sock, ctx.Err())
		case <-tick.C:
			continue
		}
		logText, _ := os.ReadFile(logPath)
		return "", fmt.Errorf("%s\n%s\n%s", why, tail(c.output.String(), 10), tail(string(logText), 10))
	}
}

// reject adds the iptables rule that rejects loopback traffic to port with
// "host unreachable"; Close deletes it.
func (l *Lab) reject(ctx context.Context, port int) error {
	return l.firewall(ctx, port, "REJECT", "--reject-with", "icmp-host-unreachable")
}

// firewall adds an OUTPUT rule on lo for traffic to 127.0.0.1:port with the
// given target; Close deletes it, checking first that it is still there.
func (l *Lab) firewall(ctx context.Context, port int, target ...string) error {
	rule := append([]string{"OUTPUT", "-o", "lo", "-p", "tcp", "-d", "127.0.0.1", "--dport", strconv.Itoa(port),
		"-j"}, target...)
	iptables := func(ctx context.Context, op string) error {
		args := append([]string{"-w", "5", op}, rule...)
		out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("iptables %v: %w: %s", args, err, out)
		}
		return nil
	}
	// Registered before the insert: a timed-out insert may still have landed.
	l.addCloser(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for iptables(ctx, "-C") == nil {
			if err := iptables(ctx, "-D"); err != nil {
				return err
			}
		}
		return nil
	})
	return iptables(ctx, "-I")
}
