package checks_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// BenchmarkRun1000Upstreams diagnoses a config with 1000 upstream servers
// on loopback: 700 accept, 200 refuse, 100 sit behind a listener whose
// accept queue is full (connects hang until the deadline). The figure to
// watch is ns/op against the 1s probe deadline: the target is under 2.5s.
//
//	go test ./checks -run '^$' -bench Run1000Upstreams -benchtime 3x
func BenchmarkRun1000Upstreams(b *testing.B) {
	raiseFileLimit(b)
	dir := b.TempDir()
	var servers []string
	for i := 0; i < 700; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 4096)
					_, _ = c.Read(buf)
					_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
					c.Close()
				}()
			}
		}()
		servers = append(servers, ln.Addr().String())
	}
	for i := 0; i < 100; i++ {
		servers = append(servers, fullQueue(b))
	}
	// Refusing ports last, so that no later listener takes one of them.
	seen := map[string]bool{}
	for _, s := range servers {
		seen[s] = true
	}
	for refused := 0; refused < 200; {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		a := ln.Addr().String()
		ln.Close() // now it refuses
		if !seen[a] {
			seen[a] = true
			servers = append(servers, a)
			refused++
		}
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  access_log %s/access.log;\n", dir, dir, dir)
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&conf, "  upstream g%d {\n", i)
		for _, s := range servers[i*100 : (i+1)*100] {
			fmt.Fprintf(&conf, "    server %s max_fails=3 fail_timeout=10s;\n", s)
		}
		fmt.Fprintf(&conf, "  }\n")
	}
	fmt.Fprintf(&conf, "  server {\n    listen 127.0.0.1:1;\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&conf, "    location /g%d/ { proxy_pass http://g%d; }\n", i, i)
	}
	fmt.Fprintf(&conf, "  }\n}\n")
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{"error.log", "access.log"} {
		_ = os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	opts := checks.Options{Config: path, Nginx: "/nonexistent/nginx", Timeout: time.Second}
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		o, err := checks.Run(context.Background(), host.Live(), opts, func(e checks.Event) {
			if e.Phase != "step" {
				b.Logf("%-10s %s", e.Phase, time.Since(start).Round(time.Millisecond))
			}
		})
		b.Logf("done       %s", time.Since(start).Round(time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		if len(o.Snapshot.Targets) != 1000 {
			b.Fatalf("got %d targets, want 1000", len(o.Snapshot.Targets))
		}
		counts := map[string]int{}
		for _, p := range o.Snapshot.Probes {
			counts[string(p.Status)]++
		}
		b.ReportMetric(float64(counts["connected"]), "connected")
		b.ReportMetric(float64(counts["refused"]), "refused")
		b.ReportMetric(float64(counts["timeout"]), "timeout")
	}
}

// fullQueue returns the address of a listener with a backlog of one whose
// queue is already full: a connect to it waits until its deadline.
func fullQueue(b *testing.B) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		b.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue; the SYNs of later connects are then dropped.
	for i := 0; i < 2; i++ {
		d := net.Dialer{Timeout: 50 * time.Millisecond}
		if c, err := d.Dial("tcp", addr); err == nil {
			b.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

func raiseFileLimit(b *testing.B) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err == nil && r.Cur < 8192 {
		r.Cur = min(r.Max, 8192)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}
