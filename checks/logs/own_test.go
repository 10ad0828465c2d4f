package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// nginx's failures on its own files name a path, not a backend, even when
// the request was on its way upstream.
func TestFileAccessLines(t *testing.T) {
	for _, tc := range []struct {
		line   string
		target string
		errno  int
	}{
		{`2026/12/01 21:00:00 [crit] 812#812: *9 open() "/var/lib/nginx/proxy/1/00/0000000001" failed (13: Permission denied) while reading upstream, client: 127.0.0.1, server: _, request: "GET /big HTTP/1.1", upstream: "http://127.0.0.1:8080/big", host: "lab.test"`,
			"/var/lib/nginx/proxy/1/00/0000000001", 13},
		{`2026/12/01 21:00:00 [emerg] 812#812: mkdir() "/var/cache/nginx/app" failed (13: Permission denied)`, "/var/cache/nginx/app", 13},
		{`2026/12/01 21:00:00 [error] 812#812: *3 open() "/srv/www/index.html" failed (13: Permission denied), client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "lab.test"`, "/srv/www/index.html", 13},
		{`2026/12/01 21:00:00 [crit] 812#812: *3 stat() "/srv/www/" failed (13: Permission denied), client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "lab.test"`, "/srv/www/", 13},
	} {
		e, ok := ParseErrorLine([]byte(tc.line), time.UTC)
		if !ok || e.Class != FileAccess || e.Target != tc.target || e.Errno != tc.errno {
			t.Errorf("%s\n got class %s target %q errno %d, want %s %q %d", tc.line, e.Class, e.Target, e.Errno, FileAccess, tc.target, tc.errno)
		}
	}
	// A connect failure is still the backend's.
	e, _ := ParseErrorLine([]byte(`2026/12/01 21:00:00 [error] 812#812: *1 connect() failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:8080/", host: "lab.test"`), time.UTC)
	if e.Class != PermissionDenied || e.Target != "127.0.0.1:8080" {
		t.Errorf("connect() (13): got %s %q, want %s at the backend", e.Class, e.Target, PermissionDenied)
	}
}

// Lines dated after the host's clock are not in the window; they are
// counted as clock skew.
func TestFutureLines(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().In(time.UTC).Truncate(time.Second)
	stamp := func(d time.Duration) string { return now.Add(d).Format("2006/01/02 15:04:05") }
	line := `%s [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:9/", host: "x"` + "\n"
	text := fmt.Sprintf(line, stamp(-2*time.Minute)) + fmt.Sprintf(line, stamp(-30*time.Second)) +
		fmt.Sprintf(line, stamp(2*time.Hour)) + fmt.Sprintf(line, stamp(3*time.Hour))
	path := filepath.Join(dir, "error.log")
	os.WriteFile(path, []byte(text), 0o644)
	sys := host.InZone(host.Live(), time.UTC)
	l, err := ReadErrorLog(context.Background(), sys, path, now.Add(-15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 2 || l.Future != 2 || !l.FutureLast.Equal(now.Add(3*time.Hour)) {
		t.Errorf("got %d entries, %d future (last %v), want 2 in the window and 2 ahead of the clock (last %v)", len(l.Entries), l.Future, l.FutureLast, now.Add(3*time.Hour))
	}
	total := 0
	for _, c := range l.Counts {
		total += c.Lines
	}
	if total != 2 {
		t.Errorf("counts: got %d lines, want the 2 in the window", total)
	}

	acc := filepath.Join(dir, "access.log")
	al := `127.0.0.1 - - [%s] "GET / HTTP/1.1" 502 157 "-" "curl"` + "\n"
	ts := func(d time.Duration) string { return now.Add(d).Format("02/Jan/2006:15:04:05 -0700") }
	os.WriteFile(acc, []byte(fmt.Sprintf(al, ts(-time.Minute))+fmt.Sprintf(al, ts(time.Hour))), 0o644)
	a, err := ReadAccessLog(context.Background(), sys, acc, now.Add(-15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if a.Requests != 1 || a.Status[502] != 1 || a.Future != 1 {
		t.Errorf("access log: got %d requests, %d 502s, %d future; want 1, 1, 1", a.Requests, a.Status[502], a.Future)
	}
}
