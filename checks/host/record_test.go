package host

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serveOnce answers each connection like a tiny HTTP backend: read the
// request head, write a fixed response, close.
func serveOnce(t *testing.T, ln net.Listener, response string) {
	t.Helper()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				io.WriteString(c, response)
			}()
		}
	}()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func ask(t *testing.T, c net.Conn) string {
	t.Helper()
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRecordReplayRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()

	const response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serveOnce(t, ln, response)
	closed := freePort(t)
	missingSock := filepath.Join(dir, "php-fpm.sock")

	logFile := filepath.Join(dir, "error.log")
	logText := "2026/11/24 05:00:00 [error] 1#1: *1 connect() failed (111: Connection refused)\n"
	if err := os.WriteFile(logFile, []byte(logText), 0o640); err != nil {
		t.Fatal(err)
	}
	linkFile := filepath.Join(dir, "current.log")
	if err := os.Symlink("error.log", linkFile); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.log")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}

	rec := Record(Live())
	type answers struct {
		listeners []Listener
		stats     map[string]FileInfo
		statErrs  map[string]bool
		files     map[string]string
		openErrs  map[string]string
		runs      map[string]Output
		runErrs   map[string]bool
		dials     map[string]string
		glob      []string
		lookups   []string
	}
	paths := []string{logFile, linkFile, fifo, filepath.Join(dir, "missing")}
	commands := [][]string{{"echo", "hello"}, {"sh", "-c", "echo out; echo err >&2; exit 3"}, {"ngxdoctor-no-such-tool", "-x"}}
	dials := [][2]string{{"tcp", ln.Addr().String()}, {"tcp", closed}, {"unix", missingSock}}

	collect := func(sys System) answers {
		a := answers{stats: map[string]FileInfo{}, statErrs: map[string]bool{}, files: map[string]string{},
			openErrs: map[string]string{}, runs: map[string]Output{}, runErrs: map[string]bool{}, dials: map[string]string{}}
		var err error
		if a.listeners, err = sys.Listeners(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			fi, err := sys.Lstat(p)
			if err != nil {
				a.statErrs[p] = errors.Is(err, fs.ErrNotExist)
			} else {
				fi.ModTime = fi.ModTime.UTC()
				a.stats[p] = fi
			}
			f, err := sys.Open(p)
			switch {
			case errors.Is(err, ErrNotRegular):
				a.openErrs[p] = "not regular"
			case errors.Is(err, fs.ErrNotExist):
				a.openErrs[p] = "not exist"
			case err != nil:
				a.openErrs[p] = err.Error()
			default:
				b := make([]byte, f.Size())
				f.ReadAt(b, 0)
				f.Close()
				a.files[p] = string(b)
			}
		}
		for _, argv := range commands {
			out, err := sys.Run(ctx, argv[0], argv[1:]...)
			key := strings.Join(argv, " ")
			a.runs[key] = out
			a.runErrs[key] = errors.Is(err, exec.ErrNotFound)
		}
		for _, d := range dials {
			c, err := sys.Dial(ctx, d[0], d[1])
			key := d[0] + " " + d[1]
			var se *os.SyscallError
			switch {
			case err == nil:
				a.dials[key] = ask(t, c)
			case errors.Is(err, syscall.ECONNREFUSED) && errors.As(err, &se):
				a.dials[key] = "refused"
			case errors.Is(err, syscall.ENOENT) && errors.As(err, &se):
				a.dials[key] = "no such file"
			default:
				a.dials[key] = err.Error()
			}
		}
		if a.glob, err = sys.Glob(filepath.Join(dir, "*.log")); err != nil {
			t.Fatal(err)
		}
		u, uerr := sys.LookupUser("root")
		_, nerr := sys.LookupUser("ngxdoctor-no-such-user")
		g, _ := sys.LookupGroupID(0)
		addrs, herr := sys.LookupHost(ctx, "localhost")
		bin, perr := sys.LookPath("sh")
		_, mperr := sys.LookPath("ngxdoctor-no-such-tool")
		a.lookups = []string{fmt.Sprint(u, uerr), fmt.Sprint(nerr != nil), g, fmt.Sprint(addrs, herr), fmt.Sprint(bin, perr),
			fmt.Sprint(errors.Is(mperr, exec.ErrNotFound))}
		return a
	}

	live := collect(rec)
	data, err := rec.Recording().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadRecording(data)
	if err != nil {
		t.Fatal(err)
	}
	replayed := collect(Replay(loaded))

	if live.dials["tcp "+ln.Addr().String()] != response {
		t.Fatalf("live dial: got %q, want the backend's response", live.dials["tcp "+ln.Addr().String()])
	}
	if live.openErrs[fifo] != "not regular" {
		t.Fatalf("live open of a FIFO: got %q, want a refusal", live.openErrs[fifo])
	}
	for name, pair := range map[string][2]any{
		"listeners":    {live.listeners, replayed.listeners},
		"lstat":        {live.stats, replayed.stats},
		"lstat errors": {live.statErrs, replayed.statErrs},
		"files":        {live.files, replayed.files},
		"open errors":  {live.openErrs, replayed.openErrs},
		"run":          {live.runs, replayed.runs},
		"run errors":   {live.runErrs, replayed.runErrs},
		"dial":         {live.dials, replayed.dials},
		"glob":         {live.glob, replayed.glob},
		"lookups":      {live.lookups, replayed.lookups},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s: replayed %+v, live %+v", name, pair[1], pair[0])
		}
	}
}

func TestReplayUnknowns(t *testing.T) {
	sys := Replay(&Recording{})
	ctx := context.Background()
	if _, err := sys.Lstat("/etc/nginx/nginx.conf"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat: got %v, want fs.ErrNotExist", err)
	}
	if _, err := sys.Open("/var/log/nginx/error.log"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open: got %v, want fs.ErrNotExist", err)
	}
	if _, err := sys.Run(ctx, "nginx", "-t"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("Run: got %v, want exec.ErrNotFound", err)
	}
	if _, err := sys.LookPath("nginx"); !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("LookPath: got %v, want exec.ErrNotFound", err)
	}
	var dnsErr *net.DNSError
	if _, err := sys.LookupHost(ctx, "backend.internal"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupHost: got %v, want a not-found DNS error", err)
	}
	if _, err := sys.LookupUser("www-data"); err == nil {
		t.Errorf("LookupUser: want an error for an unrecorded user")
	}
}

// TestReplayDialErrors: recorded failures come back shaped like net.Dialer's
// (*net.OpError around *os.SyscallError), so the probe classifies both alike.
func TestReplayDialErrors(t *testing.T) {
	rec := &Recording{Dials: map[string]*RecordedDial{}}
	cases := []struct {
		errno string
		want  syscall.Errno
	}{
		{"ECONNREFUSED", syscall.ECONNREFUSED},
		{"EACCES", syscall.EACCES},
		{"ENOENT", syscall.ENOENT},
		{"ETIMEDOUT", syscall.ETIMEDOUT},
		{"EHOSTUNREACH", syscall.EHOSTUNREACH},
	}
	for _, tc := range cases {
		rec.Dials["tcp 10.0.0.1:"+tc.errno] = &RecordedDial{Errno: tc.errno}
	}
	sys := Replay(rec)
	for _, tc := range cases {
		t.Run(tc.errno, func(t *testing.T) {
			_, err := sys.Dial(context.Background(), "tcp", "10.0.0.1:"+tc.errno)
			var op *net.OpError
			var se *os.SyscallError
			if !errors.Is(err, tc.want) || !errors.As(err, &op) || !errors.As(err, &se) {
				t.Errorf("got %v, want *net.OpError around *os.SyscallError around %v", err, tc.want)
			}
		})
	}
}

func TestReplayDialTimeoutAndDelay(t *testing.T) {
	rec := &Recording{Dials: map[string]*RecordedDial{
		"tcp 10.0.0.2:80": {Errno: "timeout"},
		"tcp 10.0.0.3:80": {Response: "HTTP/1.1 200 OK\r\n\r\n", ResponseDelay: 150 * time.Millisecond},
	}}
	sys := Replay(rec)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sys.Dial(ctx, "tcp", "10.0.0.2:80")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want a timeout matching context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("a timed-out dial returned after %v, want it to take the deadline", d)
	}

	c, err := sys.Dial(context.Background(), "tcp", "10.0.0.3:80")
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if got := ask(t, c); got != "HTTP/1.1 200 OK\r\n\r\n" {
		t.Errorf("got %q", got)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("response came after %v, want the recorded 150ms delay", d)
	}
}

func TestRecordLargeFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.log")
	if err := os.WriteFile(path, make([]byte, maxRecordedFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := Record(Live())
	f, err := rec.Open(path)
	if err != nil {
		t.Fatalf("the live answer must not suffer from the recording: %v", err)
	}
	f.Close()
	_, err = Replay(rec.Recording()).Open(path)
	if err == nil || !strings.Contains(err.Error(), "too large to record") {
		t.Errorf("got %v, want a note that the file was too large to record", err)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	dir := t.TempDir()
	rec := Record(Live())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec.Lstat(dir)
			rec.Glob(filepath.Join(dir, "*"))
			rec.Run(context.Background(), "true")
			rec.LookupUserID(0)
			if i%4 == 0 {
				rec.Recording()
			}
		}()
	}
	wg.Wait()
	r := rec.Recording()
	if len(r.Commands) != 1 || len(r.Users) != 1 || r.Files[dir] == nil {
		t.Errorf("got %d commands, %d users, dir recorded %v; want one of each", len(r.Commands), len(r.Users), r.Files[dir] != nil)
	}
}
