// Command benchgen writes the inputs of scripts/bench.sh: error logs and
// nginx configs of incident size, all inside the directory it is given.
//
//	benchgen log PATH SIZE_MB        an error log of refused connections to 127.0.0.1:3000 ending now
//	benchgen busy PATH LINES         LINES upstream errors spread over the last 15 minutes
//	benchgen servers DIR N LOCS      DIR/nginx.conf: N server blocks, each with LOCS locations
//	benchgen upstreams DIR N FIRST   DIR/nginx.conf: one upstream of N servers on ports FIRST.. of 127.0.0.1
//
// Every config listens on 127.0.0.1 only and keeps its pid, logs and temp
// paths inside DIR, so `nginx -t` and ngxdoctor can run on it as any user.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: benchgen log PATH SIZE_MB | busy PATH LINES | servers DIR N LOCS | upstreams DIR N FIRST_PORT")
	}
	n, err := strconv.Atoi(args[2])
	if err != nil || n < 0 {
		return fmt.Errorf("%s: want a number", args[2])
	}
	m := 0
	if len(args) > 3 {
		if m, err = strconv.Atoi(args[3]); err != nil {
			return fmt.Errorf("%s: want a number", args[3])
		}
	}
	switch args[0] {
	case "log":
		return write(args[1], func(w *bufio.Writer) { refusedLog(w, int64(n)<<20) })
	case "busy":
		return write(args[1], func(w *bufio.Writer) { busyLog(w, n) })
	case "servers":
		return write(filepath.Join(args[1], "nginx.conf"), func(w *bufio.Writer) { servers(w, args[1], n, max(m, 1)) })
	case "upstreams":
		return write(filepath.Join(args[1], "nginx.conf"), func(w *bufio.Writer) { upstreams(w, args[1], n, m) })
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func write(path string, fill func(*bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const stamp = "2006/01/02 15:04:05"

const refused = ` [error] 812#812: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.%d, server: shop.example, request: "GET /api/cart?item=%d HTTP/1.1", upstream: "http://127.0.0.1:3000/api/cart?item=%d", host: "shop.example"` + "\n"

// refusedLog writes about size bytes of refused connections, 100 a second,
// the last one a second ago: the log of a backend that has been down for days.
func refusedLog(w *bufio.Writer, size int64) {
	const perSecond = 100
	// Lines are 270-290 bytes: counting 250 overestimates them, so the
	// first is dated early enough that the last is in the past. Dated past
	// now, the newest lines would be clock skew, outside every window.
	lines := size / 250
	end := time.Now().Add(-time.Second)
	t := end.Add(-time.Duration(lines/perSecond) * time.Second)
	var written int64
	for i := int64(0); written < size; i++ {
		if i%perSecond == 0 && i > 0 {
			t = t.Add(time.Second)
		}
		n, _ := fmt.Fprintf(w, "%s"+refused, t.Format(stamp), i, i%250, i%1000, i%1000)
		written += int64(n)
	}
}

var busyLines = []string{
	refused,
	` [error] 812#812: *%d upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.%d, server: shop.example, request: "GET /api/search?q=%d HTTP/1.1", upstream: "http://127.0.0.1:3001/api/search?q=%d", host: "shop.example"` + "\n",
	` [error] 812#812: *%d recv() failed (104: Connection reset by peer) while reading response header from upstream, client: 203.0.113.%d, server: shop.example, request: "GET /api/user/%d HTTP/1.1", upstream: "http://127.0.0.1:3002/api/user/%d", host: "shop.example"` + "\n",
}

// busyLog writes lines upstream errors evenly over the last 14 minutes
// (the newest a second ago), about 280 bytes each.
func busyLog(w *bufio.Writer, lines int) {
	end := time.Now().Add(-time.Second)
	start := end.Add(-14 * time.Minute)
	step := (end.Sub(start)) / time.Duration(max(lines, 1))
	for i := range lines {
		t := start.Add(time.Duration(i) * step)
		fmt.Fprintf(w, "%s"+busyLines[i%len(busyLines)], t.Format(stamp), i, i%250, i%1000, i%1000)
	}
}

func header(w *bufio.Writer, dir string) {
	fmt.Fprintf(w, `pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    server_names_hash_max_size 262144;
    server_names_hash_bucket_size 128;
    upstream app { server 127.0.0.1:3000; server 127.0.0.1:3001; server 127.0.0.1:3002; }
`, dir)
}

// servers writes n name-based virtual hosts on one port, as a shared
// hosting box has; every location passes to the same upstream, so each
// backend is referenced n×locs times.
func servers(w *bufio.Writer, dir string, n, locs int) {
	header(w, dir)
	for i := range n {
		fmt.Fprintf(w, "    server {\n        listen 127.0.0.1:18080;\n        server_name site%d.example www.site%d.example;\n", i, i)
		for k := range locs {
			if k == 0 {
				w.WriteString("        location / { proxy_pass http://app; proxy_read_timeout 30s; }\n")
				continue
			}
			fmt.Fprintf(w, "        location /api%d/ { proxy_pass http://app/internal/service/v%d/; }\n", k, k)
		}
		w.WriteString("    }\n")
	}
	w.WriteString("}\n")
}

// upstreams writes one upstream of n servers on consecutive loopback ports
// from first, behind one proxy_pass.
func upstreams(w *bufio.Writer, dir string, n, first int) {
	header(w, dir)
	w.WriteString("    upstream many {\n")
	for i := range n {
		fmt.Fprintf(w, "        server 127.0.0.1:%d;\n", first+i)
	}
	w.WriteString("    }\n    server {\n        listen 127.0.0.1:18080;\n        location / { proxy_pass http://many; }\n    }\n}\n")
}
