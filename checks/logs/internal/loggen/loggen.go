// Package loggen writes synthetic nginx error logs for benchmarks: a long
// quiet past and a busy incident at the end, like the log of a server that
// just started answering 502.
package loggen

import (
	"bufio"
	"fmt"
	"io"
	"time"
)

// End is when every generated log ends (UTC; read it with time.UTC).
var End = time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC)

// Busy is how long the incident at the end lasts, and BusyRate its lines a second.
const (
	Busy     = 15 * time.Minute
	BusyRate = 30
)

const stamp = "2006/01/02 15:04:05"

var quiet = []string{
	`[info] 811#811: *%d client prematurely closed connection while sending response to client, client: 198.51.100.%d, server: shop.example, request: "GET /assets/app.js HTTP/1.1", host: "shop.example"`,
	`[error] 811#811: *%d open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: 198.51.100.%d, server: shop.example, request: "GET /favicon.ico HTTP/1.1", host: "shop.example", referrer: "https://shop.example/"`,
	`[info] 811#811: *%d recv() failed (104: Connection reset by peer) while reading client request line, client: 198.51.100.%d, server: 0.0.0.0:443`,
	`[warn] 811#811: *%d an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 198.51.100.%d, server: shop.example, request: "GET /export.csv HTTP/1.1", upstream: "http://127.0.0.1:3000/export.csv", host: "shop.example"`,
}

var busy = []string{
	`[error] 812#812: *%d connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.%d, server: shop.example, request: "GET /api/cart HTTP/1.1", upstream: "http://127.0.0.1:3000/api/cart", host: "shop.example"`,
	`[error] 812#812: *%d upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.%d, server: shop.example, request: "GET /api/search?q=shoes HTTP/1.1", upstream: "http://127.0.0.1:3001/api/search?q=shoes", host: "shop.example"`,
	`[crit] 812#812: *%d connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream, client: 203.0.113.%d, server: shop.example, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "shop.example"`,
	`[error] 812#812: *%d no live upstreams while connecting to upstream, client: 203.0.113.%d, server: shop.example, request: "GET /api/cart HTTP/1.1", upstream: "http://backend/api/cart", host: "shop.example"`,
}

// Write writes a log of about size bytes: one quiet line a second, then
// BusyRate lines a second for the last Busy before End. size below the
// incident's own size gives the incident alone.
func Write(w io.Writer, size int64) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	busyBytes := int64(Busy/time.Second) * BusyRate * 268
	quietLines := max(0, (size-busyBytes)/242)
	t := End.Add(-Busy - time.Duration(quietLines)*time.Second)
	conn := 1
	for i := int64(0); i < quietLines; i++ {
		bw.WriteString(t.Format(stamp))
		bw.WriteByte(' ')
		fmt.Fprintf(bw, quiet[i%int64(len(quiet))], conn, conn%250)
		bw.WriteByte('\n')
		conn++
		t = t.Add(time.Second)
	}
	for s := 0; s < int(Busy/time.Second); s++ {
		ts := t.Add(time.Duration(s) * time.Second).Format(stamp)
		for k := 0; k < BusyRate; k++ {
			bw.WriteString(ts)
			bw.WriteByte(' ')
			fmt.Fprintf(bw, busy[(s+k)%len(busy)], conn, conn%250)
			bw.WriteByte('\n')
			conn++
		}
	}
	return bw.Flush()
}
