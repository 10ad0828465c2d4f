package logs

import (
	"bufio"
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones for the DST test, whatever the host has
	"unicode/utf8"
)

// messageLines reads testdata/messages.log: one line of every message in
// nginx-upstream-errors.md, plus the look-alikes that must not count.
func messageLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/messages.log")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestParseErrorLineMessages(t *testing.T) {
	const (
		conn    = "connecting to upstream"
		header  = "reading response header from upstream"
		sending = "sending request to upstream"
		tlsHS   = "SSL handshaking to upstream"
	)
	tests := []struct {
		find   string // a substring naming the line in testdata/messages.log
		class  Class
		errno  int
		phase  string
		target string
		level  string
	}{
		{"*1 connect() failed (111", Refused, 111, conn, "127.0.0.1:3999", "error"},
		{"*33 no live upstreams", NoLiveUpstreams, 0, conn, "dead2", "error"},
		{"*9 upstream prematurely closed connection", Closed, 0, header, "127.0.0.1:4001", "error"},
		{"*11 upstream timed out", Timeout, 110, header, "127.0.0.1:4002", "error"},
		{"*36 upstream timed out", Timeout, 110, conn, "127.0.0.1:4010", "error"},
		{"*13 upstream sent too big header", HeaderTooBig, 0, header, "127.0.0.1:4003", "error"},
		{"*15 upstream sent no valid HTTP/1.0 header", InvalidHeader, 0, header, "127.0.0.1:4004", "error"},
		{"*17 recv() failed (104", Reset, 104, header, "127.0.0.1:4005", "error"},
		{"*19 connect() to unix:/srv/missing.sock", NoSuchFile, 2, conn, "unix:/srv/missing.sock", "crit"},
		{"*21 connect() to unix:/srv/app.sock", PermissionDenied, 13, conn, "unix:/srv/app.sock", "crit"},
		{"*34 connect() to unix:/run/php/php-fpm.sock failed (13", PermissionDenied, 13, conn, "unix:/run/php/php-fpm.sock", "crit"},
		{"send() failed (111: Connection refused) while resolving", ResolverError, 111, "resolving", "127.0.0.1:5353", "error"},
		{"*23 nosuch.invalid could not be resolved", ResolveFailed, 110, "", "nosuch.invalid", "error"},
		{"*26 no resolver defined", NoResolver, 0, "", "nosuch.example", "error"},
		{"*37 epoll_wait() reported that client prematurely closed", ClientClosed, 0, sending, "127.0.0.1:4002", "info"},
		{"*40 connect() to unix:/run/php/php-fpm.sock failed (11", Again, 11, conn, "unix:/run/php/php-fpm.sock", "error"},
		{"*41 connect() to 10.0.0.7:8080 failed (99", AddrNotAvail, 99, conn, "10.0.0.7:8080", "crit"},
		{"*42 connect() failed (113", NoRoute, 113, conn, "127.0.0.1:4020", "error"},
		{"*43 connect() failed (101", NetUnreachable, 101, conn, "[2001:db8::7]:8080", "error"},
		{"*44 writev() failed (32", BrokenPipe, 32, sending, "127.0.0.1:4006", "error"},
		{"*45 send() failed (32", BrokenPipe, 32, sending, "127.0.0.1:4006", "error"},
		{"*46 upstream sent invalid header", InvalidHeader, 0, header, "127.0.0.1:4007", "error"},
		{"*47 upstream sent invalid status", InvalidHeader, 0, header, "127.0.0.1:4007", "error"},
		{"*48 upstream sent duplicate header line", InvalidHeader, 0, header, "127.0.0.1:4007", "error"},
		{"*49 SSL_do_handshake() failed", TLS, 0, tlsHS, "127.0.0.1:4008", "error"},
		{"*50 upstream SSL certificate verify error", TLS, 0, tlsHS, "127.0.0.1:4008", "error"},
		{"*51 upstream SSL certificate does not match", TLS, 0, tlsHS, "127.0.0.1:4008", "error"},
		{"*52 peer closed connection in SSL handshake", TLS, 104, tlsHS, "127.0.0.1:4008", "error"},
		{"*53 FastCGI sent in stderr", FastCGIStderr, 0, header, "127.0.0.1:9000", "error"},
		{"*54 upstream prematurely closed FastCGI stdout", Closed, 0, header, "unix:/run/php/php-fpm.sock", "error"},
		{"*55 upstream prematurely closed FastCGI request", Closed, 0, header, "127.0.0.1:9000", "error"},
		{"*56 socket() failed (24", TooManyFiles, 24, conn, "127.0.0.1:3000", "alert"},
		{"768 worker_connections are not enough", WorkerConns, 0, "", "", "alert"},
		{"*57 upstream server temporarily disabled", ServerDisabled, 0, conn, "127.0.0.1:3001", "warn"},
		{"*58 upstream rejected request with error 2", GRPC, 0, header, "127.0.0.1:50051", "error"},
		{"*59 upstream sent goaway", GRPC, 0, header, "127.0.0.1:50051", "error"},
		{"*60 upstream prematurely closed stream", GRPC, 0, header, "127.0.0.1:50051", "error"},
		{`host not found in upstream "app.internal:8080"`, HostNotFound, 0, "", "app.internal:8080", "emerg"},
		{"*61 connect() failed", Refused, 111, conn, "[::1]:3000", "error"},
		{"*62 connect() failed", Refused, 111, conn, "unix:/srv/app.sock", "error"},
		{"*63 readv() failed (104", Reset, 104, "reading upstream", "127.0.0.1:4005", "error"},
		// No upstream: field: the address comes from the message.
		{"*64 connect() to unix:/srv/missing.sock", NoSuchFile, 2, conn, "unix:/srv/missing.sock", "crit"},
		{"*65 nosuch.internal could not be resolved (3", ResolveFailed, 3, "", "nosuch.internal", "error"},
		// Look-alikes about the client or static files are not upstream failures.
		{"*66 recv() failed (104: Connection reset by peer) while reading client", Other, 104, "reading client request line", "", "error"},
		{"*67 open() \"/usr/share/nginx/html/favicon.ico\" failed (2", Other, 2, "", "", "error"},
		{"*68 SSL_do_handshake() failed", Other, 0, "SSL handshaking", "", "info"},
		{"*69 upstream timed out", Timeout, 110, tlsHS, "127.0.0.1:4008", "error"},
		{"signal process started", Other, 0, "", "", "notice"},
		{"*70 upstream sent unsupported FastCGI protocol version", InvalidHeader, 0, header, "127.0.0.1:8000", "error"},
		{"*71 client prematurely closed connection while reading upstream", ClientClosed, 0, "reading upstream", "127.0.0.1:4003", "info"},
		// A referrer carrying a forged upstream field: the real one comes first.
		{"*72 connect() failed", Refused, 111, conn, "127.0.0.1:3002", "error"},
	}
	all := messageLines(t)
	used := map[int]bool{}
	for _, tt := range tests {
		t.Run(tt.find, func(t *testing.T) {
			n := -1
			for i, l := range all {
				if strings.Contains(l, tt.find) && !used[i] {
					n = i
					break
				}
			}
			if n < 0 {
				t.Fatalf("no unused line in testdata/messages.log contains %q", tt.find)
			}
			used[n] = true
			e, ok := ParseErrorLine([]byte(all[n]), time.UTC)
			if !ok {
				t.Fatalf("line %d not parsed: %s", n+1, all[n])
			}
			if e.Class != tt.class || e.Errno != tt.errno || e.Phase != tt.phase || e.Target != tt.target || e.Level != tt.level {
				t.Errorf("line %d: got class %q errno %d phase %q target %q level %q, want %q %d %q %q %q",
					n+1, e.Class, e.Errno, e.Phase, e.Target, e.Level, tt.class, tt.errno, tt.phase, tt.target, tt.level)
			}
			if e.Raw != all[n] {
				t.Errorf("line %d: got raw %q, want the line as read", n+1, e.Raw)
			}
		})
	}
	if len(used) != len(all) {
		for i, l := range all {
			if !used[i] {
				t.Errorf("testdata/messages.log line %d has no expectation: %s", i+1, l)
			}
		}
	}
}

func TestParseErrorLineFields(t *testing.T) {
	l := `2026/11/24 05:13:41 [error] 812#813: *63 readv() failed (104: Connection reset by peer) while reading upstream, client: 127.0.0.1, server: app.example, request: "GET /stream HTTP/1.1", upstream: "http://127.0.0.1:4005/stream", host: "127.0.0.1:8080", referrer: "http://127.0.0.1:8080/"`
	e, ok := ParseErrorLine([]byte(l), time.UTC)
	if !ok {
		t.Fatal("not parsed")
	}
	want := Entry{
		Time: time.Date(2026, 11, 24, 5, 13, 41, 0, time.UTC), Level: "error", PID: 812, Conn: 63,
		Class: Reset, Errno: 104, Phase: "reading upstream",
		Message: "readv() failed (104: Connection reset by peer) while reading upstream",
		Client:  "127.0.0.1", Server: "app.example", Request: "GET /stream HTTP/1.1",
		Upstream: "http://127.0.0.1:4005/stream", Host: "127.0.0.1:8080", Target: "127.0.0.1:4005", Raw: l,
	}
	if e != want {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
}

func TestParseErrorLineTimeZone(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	e, ok := ParseErrorLine([]byte("2026/11/24 06:13:28 [error] 1#1: *1 no live upstreams while connecting to upstream"), loc)
	if !ok {
		t.Fatal("not parsed")
	}
	if want := time.Date(2026, 11, 24, 5, 13, 28, 0, time.UTC); !e.Time.Equal(want) {
		t.Errorf("got %v, want %v: nginx writes local time", e.Time.UTC(), want)
	}
}

func TestParseErrorLineNotLog(t *testing.T) {
	for _, l := range []string{
		"",
		"hello",
		"2026/11/24 05:13:28",
		"2026/11/24 05:13:28 [error]",
		"2026/11/24 05:13:28 [bogus] 1#1: x",
		"2026/13/24 05:13:28 [error] 1#1: x",
		"2026/11/24 25:13:28 [error] 1#1: x",
		"2026-11-24 05:13:28 [error] 1#1: x",
		"2026/11/24 05:13:28 [error] x#1: x",
		"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
		"    at com.example.Main(Main.java:12)",
	} {
		if e, ok := ParseErrorLine([]byte(l), time.UTC); ok {
			t.Errorf("%q: got parsed %+v, want not a log line", l, e)
		}
	}
}

func TestParseErrorLineDirtyBytes(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"invalid utf-8", "2026/11/24 05:13:28 [error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /\xff\xfe HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"h\""},
		{"escape sequence", "2026/11/24 05:13:28 [error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /\x1b[2J HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"h\""},
		{"nul", "2026/11/24 05:13:28 [error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , request: \"GET /\x00 HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"h\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := ParseErrorLine([]byte(tt.line), time.UTC)
			if !ok {
				t.Fatal("not parsed")
			}
			if e.Class != Refused || e.Target != "127.0.0.1:3000" {
				t.Errorf("got class %q target %q, want refused 127.0.0.1:3000", e.Class, e.Target)
			}
			if !utf8.ValidString(e.Raw) || strings.ContainsAny(e.Raw, "\x00\x1b") {
				t.Errorf("got raw %q, want valid UTF-8 without control characters", e.Raw)
			}
		})
	}
}

func TestParseErrorLineCut(t *testing.T) {
	long := "2026/11/24 05:13:28 [error] 1#1: *5 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: , request: \"GET /" + strings.Repeat("a", 3000) + " HTTP/1.1\", upstream: \"http://127.0.0.1:3000/\", host: \"h\""
	e, ok := ParseErrorLine([]byte(long), time.UTC)
	if !ok {
		t.Fatal("not parsed")
	}
	if len(e.Raw) != MaxLineBytes {
		t.Errorf("got raw of %d bytes, want %d", len(e.Raw), MaxLineBytes)
	}
	if e.Class != Timeout || e.Phase != "reading response header from upstream" || e.Target != "" {
		t.Errorf("got class %q phase %q target %q, want timeout, the phase, no target (cut off)", e.Class, e.Phase, e.Target)
	}
}

func TestClassStatus(t *testing.T) {
	tests := []struct {
		class Class
		want  int
	}{
		{Timeout, 504}, {Refused, 502}, {PermissionDenied, 502}, {NoSuchFile, 502}, {Again, 502},
		{NoRoute, 502}, {NetUnreachable, 502}, {AddrNotAvail, 502}, {Closed, 502}, {Reset, 502},
		{BrokenPipe, 502}, {HeaderTooBig, 502}, {InvalidHeader, 502}, {TLS, 502}, {ResolveFailed, 502},
		{NoResolver, 502}, {NoLiveUpstreams, 502}, {GRPC, 502}, {TooManyFiles, 500}, {WorkerConns, 500},
		{ClientClosed, 499}, {ServerDisabled, 0}, {FastCGIStderr, 0}, {HostNotFound, 0},
		{ResolverError, 0}, {Other, 0},
	}
	for _, tt := range tests {
		if got := tt.class.Status(); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.class, got, tt.want)
		}
	}
}

// The hour cache must give what time.Date gives, across DST changes too.
func TestStampAcrossZoneChanges(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		c := stampCache{loc: loc}
		for _, day := range []time.Time{
			time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 0, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC),
		} {
			for m := 0; m < 3*24*60; m += 7 {
				wall := day.Add(time.Duration(m)*time.Minute + 13*time.Second)
				l := []byte(wall.Format("2006/01/02 15:04:05") + " [error] 1#1: x")
				got, ok := c.errorStamp(l)
				want := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
				if !ok || !got.Equal(want) {
					t.Fatalf("%s %s: got %v, want %v", zone, l[:19], got, want)
				}
			}
		}
	}
}
