package fixes

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

func TestApplyEdits(t *testing.T) {
	src := "a\n  b; # keep\nc"
	tests := []struct {
		name  string
		edits []Edit
		want  string
		err   error
	}{
		{"replace bytes", []Edit{{Off: 2, Old: "  b;", New: "  B;"}}, "a\n  B; # keep\nc", nil},
		{"insert", []Edit{{Off: 2, New: "x\n"}}, "a\nx\n  b; # keep\nc", nil},
		{"insert at the top", []Edit{{Off: 0, New: "x\n"}}, "x\na\n  b; # keep\nc", nil},
		{"insert at the end", []Edit{{Off: len(src), New: "\nx"}}, "a\n  b; # keep\nc\nx", nil},
		{"offsets refer to the original, inserts keep their order", []Edit{{Off: 2, New: "x\n"}, {Off: 2, New: "y\n"}, {Off: len(src) - 1, Old: "c", New: "C"}}, "a\nx\ny\n  b; # keep\nC", nil},
		{"changed bytes refused", []Edit{{Off: 2, Old: "b;", New: "B;"}}, "", ErrChanged},
		{"past the end refused", []Edit{{Off: 90, Old: "z", New: "Z"}}, "", ErrChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyEdits(src, tt.edits)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := applyEdits(src, []Edit{{Off: 2, Old: "  b;", New: "x"}, {Off: 4, Old: "b;", New: "y"}}); err == nil {
		t.Fatal("overlapping edits applied")
	}
}

// afterLine is an edit adding text as a line after line n of the file.
func afterLine(t *testing.T, path string, n int, text string) Edit {
	t.Helper()
	return lineInsert(path, splitKeep(readFile(t, path)), n, text)
}

func TestWriteAtomicRefusesSymlinkAndKeepsMode(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(target, link)
	if err := writeAtomic(link, []byte("x"), fileMeta{Mode: 0o644, UID: os.Geteuid(), GID: os.Getegid()}); err == nil {
		t.Fatal("wrote through a symlink")
	}
	if _, _, err := readNoFollow(link); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("read through a symlink: %v", err)
	}
	if readFile(t, target) != "keep" {
		t.Fatal("target changed")
	}
	f := filepath.Join(dir, "conf")
	os.WriteFile(f, []byte("old"), 0o640)
	_, m, _ := readNoFollow(f)
	if err := writeAtomic(f, []byte("new"), m); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o640 || readFile(t, f) != "new" {
		t.Fatalf("got %v %q, want 0640 \"new\"", fi.Mode().Perm(), readFile(t, f))
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".conf.ngxdoctor-*")); len(m) != 0 {
		t.Fatalf("temp files left: %q", m)
	}
}

func TestReplaceAddr(t *testing.T) {
	tests := []struct{ line, old, alt, want string }{
		{"    proxy_pass http://127.0.0.1:3000/api; # app", "127.0.0.1:3000", "[::1]:3000", "    proxy_pass http://[::1]:3000/api; # app"},
		{"    server 127.0.0.1:3000 max_fails=3;", "127.0.0.1:3000", "127.0.0.1:3001", "    server 127.0.0.1:3001 max_fails=3;"},
		{"fastcgi_pass unix:/run/php/php8.1-fpm.sock;", "unix:/run/php/php8.1-fpm.sock", "unix:/run/php/php8.2-fpm.sock", "fastcgi_pass unix:/run/php/php8.2-fpm.sock;"},
		{"proxy_pass http://127.0.0.1:3000;", "127.0.0.1:3000", "unix:/run/app.sock", "proxy_pass http://unix:/run/app.sock:;"},
		{"proxy_pass http://unix:/run/a.sock:/x;", "unix:/run/a.sock", "127.0.0.1:8000", "proxy_pass http://127.0.0.1:8000/x;"},
		// A longer port or a second occurrence must not be touched.
		{"proxy_pass http://127.0.0.1:30001;", "127.0.0.1:3000", "127.0.0.1:3001", ""},
		{"proxy_pass http://127.0.0.1:3000; # was 127.0.0.1:3000", "127.0.0.1:3000", "127.0.0.1:3001", ""},
	}
	for _, tt := range tests {
		got, ok := replaceAddr(tt.line, tt.old, tt.alt)
		if !ok {
			got = ""
		}
		if got != tt.want {
			t.Errorf("replaceAddr(%q): got %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestNameservers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(p, []byte("# generated\nsearch example.com\nnameserver 10.0.0.2\nnameserver 2001:db8::53\nnameserver fe80::1%eth0\noptions edns0\n"), 0o644)
	got := strings.Join(nameservers(p), " ")
	if want := "10.0.0.2 [2001:db8::53]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestSizesAndDurations(t *testing.T) {
	for in, want := range map[string]int{"4k": 4096, "8K": 8192, "1m": 1 << 20, "512": 512} {
		if got, _ := parseSize(in); got != want {
			t.Errorf("parseSize(%q): got %d, want %d", in, got, want)
		}
	}
	for in, want := range map[int]string{16384: "16k", 1 << 20: "1m", 1000: "1000"} {
		if got := fmtSize(in); got != want {
			t.Errorf("fmtSize(%d): got %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]float64{"60": 60, "12.5s": 12.5, "1m": 60, "1500ms": 1.5, "1d": 86400} {
		if got, _ := parseSeconds(in); got != want {
			t.Errorf("parseSeconds(%q): got %v, want %v", in, got, want)
		}
	}
}

// configCause writes a config and a cause pointing into it, for the
// planners that need no running nginx.
func configCause(t *testing.T, text string, c checks.Cause, settings nginx.Settings) (*checks.Outcome, checks.Cause, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "site.conf")
	os.WriteFile(p, []byte(text), 0o644)
	lineOf := func(s string) string {
		for i, l := range strings.Split(text, "\n") {
			if strings.Contains(l, s) {
				return p + ":" + strconv.Itoa(i+1)
			}
		}
		t.Fatalf("%q not in config", s)
		return ""
	}
	c.Facts.LocationAt = lineOf("location")
	c.Facts.PassAt = lineOf("_pass")
	for k, v := range settings {
		for i := range v {
			file, line, _ := parsePos(lineOf(k))
			v[i].At = nginx.Pos{File: file, Line: line}
		}
	}
	file, line, _ := parsePos(c.Facts.PassAt)
	o := &checks.Outcome{Snapshot: &checks.Snapshot{Config: &nginx.Config{Main: p, Passes: []nginx.Pass{{
		Directive: "proxy_pass", At: nginx.Pos{File: file, Line: line}, Module: "proxy", Scheme: "http", Address: c.Target, Settings: settings,
	}}}}, Causes: []checks.Cause{c}}
	return o, c, p
}

func TestBuffersStayConsistent(t *testing.T) {
	text := "server {\n    location / {\n        proxy_pass http://b;\n        proxy_busy_buffers_size 8k;\n    }\n}\n"
	settings := nginx.Settings{"proxy_busy_buffers_size": {{Name: "proxy_busy_buffers_size", Args: []string{"8k"}}}}
	o, c, _ := configCause(t, text, checks.Cause{ID: "header-too-big", Target: "b", Facts: checks.Facts{HeaderBytes: 40000}}, settings)
	fs := testEngine(t).For(o, c)
	f := fixByKind(t, fs, "buffers")
	for _, want := range []string{"+        proxy_buffer_size 64k;", "+        proxy_buffers 8 32k;", "-        proxy_busy_buffers_size 8k;", "+        proxy_busy_buffers_size 64k;"} {
		if !strings.Contains(f.Diff, want) {
			t.Fatalf("diff lacks %q:\n%s", want, f.Diff)
		}
	}
}

func TestResolverAndTLSPlans(t *testing.T) {
	e := testEngine(t)
	e.ResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(e.ResolvConf, []byte("nameserver 127.0.0.53\nnameserver ::1\n"), 0o644)
	text := "server {\n    location /api/ {\n        set $b app.internal;\n        proxy_pass https://$b:8443;\n    }\n}\n"
	o, c, _ := configCause(t, text, checks.Cause{ID: "no-resolver", Target: "app.internal:8443"}, nginx.Settings{})
	f := fixByKind(t, e.For(o, c), "resolver")
	if !strings.Contains(f.Diff, "+        resolver 127.0.0.53 [::1] valid=30s;") {
		t.Fatalf("diff:\n%s", f.Diff)
	}
	o.Snapshot.Config.Passes[0].Scheme = "https"
	c.ID = "tls-handshake"
	o.Causes[0] = c
	f = fixByKind(t, e.For(o, c), "sni")
	if !strings.Contains(f.Diff, "+        proxy_ssl_server_name on;") {
		t.Fatalf("diff:\n%s", f.Diff)
	}
	c.Facts.Speaks = "http"
	f = fixByKind(t, e.For(o, c), "http")
	if !strings.Contains(f.Diff, "+        proxy_pass http://$b:8443;") {
		t.Fatalf("diff:\n%s", f.Diff)
	}
}

func TestIDsAreStable(t *testing.T) {
	e := testEngine(t)
	e.ResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(e.ResolvConf, []byte("nameserver 10.0.0.2\n"), 0o644)
	text := "server {\n    location / {\n        proxy_pass http://$b;\n    }\n}\n"
	o, _, _ := configCause(t, text, checks.Cause{ID: "no-resolver", Target: "b"}, nginx.Settings{})
	a, b := e.Plan(o), e.Plan(o)
	if len(a) != 1 || len(a[0]) != 1 || baseID(a[0][0].ID) != "no-resolver:b:resolver" || a[0][0].ID != b[0][0].ID || a[0][0].Diff != b[0][0].Diff {
		t.Fatalf("plans differ or wrong id: %+v / %+v", a, b)
	}
}

func TestDirSearchPermission(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	os.Mkdir(dir, 0o700)
	// A worker outside the directory's group: only o+x lets it through.
	w := worker{}
	w.Name, w.UID, w.GID = "app", 12345, 12345
	p, ok := planDir(files{}, checks.Cause{ID: "socket-permission", Target: "unix:" + dir + "/app.sock"}, w, dir)
	if !ok || p.modes[0].Bits != "o+x" {
		t.Fatalf("got %+v, want chmod o+x", p)
	}
	mb, err := p.modes[0].apply()
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o701 {
		t.Fatalf("got %v, want 0701", fi.Mode().Perm())
	}
	if done, err := restoreMode(mb); !done || err != nil {
		t.Fatalf("restore: %v %v", done, err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("after restore: got %v, want 0700", fi.Mode().Perm())
	}
	// In the directory's group, group search is the smaller change.
	w.GID = uint32(os.Getegid())
	if p, _ := planDir(files{}, checks.Cause{}, w, dir); p.modes[0].Bits != "g+x" {
		t.Fatalf("got %s for a worker in the group, want g+x", p.modes[0].Bits)
	}
	// A file where a directory is expected is refused.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, ok := planDir(files{}, checks.Cause{}, w, f); ok {
		t.Fatal("planned a chmod of a regular file as a directory")
	}
}

func TestPromFormat(t *testing.T) {
	o := &checks.Outcome{Started: time.Unix(1700000000, 0), Duration: 1500 * time.Millisecond, Complete: true,
		Causes: []checks.Cause{{ID: "backend-down", Target: `127.0.0.1:3000`, Occurrences: 3}}}
	got := Prom(o)
	for _, want := range []string{"ngxdoctor_up 1\n", "ngxdoctor_check_complete 1\n", "ngxdoctor_problem 1\n", `ngxdoctor_cause{cause="backend-down",target="127.0.0.1:3000"} 3` + "\n",
		"ngxdoctor_check_duration_seconds 1.500\n", "ngxdoctor_last_run_timestamp_seconds 1700000000\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("missing %q in\n%s", want, got)
		}
	}
}

// An interrupted check writes that it did not complete and no
// ngxdoctor_problem at all: 0 would tell the alert all is well.
func TestPromIncomplete(t *testing.T) {
	o := &checks.Outcome{Started: time.Unix(1700000000, 0), Interrupted: true, Unfinished: []string{"interrupted (terminated signal received)"},
		Causes: []checks.Cause{{ID: "upstream-timeout", Target: "127.0.0.1:3000"}}}
	got := Prom(o)
	if !strings.Contains(got, "ngxdoctor_check_complete 0\n") || strings.Contains(got, "ngxdoctor_problem") || strings.Contains(got, "ngxdoctor_cause{") {
		t.Fatalf("interrupted: got\n%s", got)
	}
	// A phase that ran out of time leaves the causes found standing.
	o.Interrupted = false
	if got := Prom(o); !strings.Contains(got, "ngxdoctor_check_complete 0\n") || !strings.Contains(got, "ngxdoctor_problem 1\n") {
		t.Fatalf("a phase unfinished, a cause found: got\n%s", got)
	}
	o.Causes = nil
	if got := Prom(o); strings.Contains(got, "ngxdoctor_problem 0") {
		t.Fatalf("an incomplete check reported no problem:\n%s", got)
	}
}

func TestConfigSymlinkResolvedOnlyInTrustedDirs(t *testing.T) {
	root := t.TempDir()
	avail := filepath.Join(root, "sites-available")
	enabled := filepath.Join(root, "sites-enabled")
	os.Mkdir(avail, 0o755)
	os.Mkdir(enabled, 0o755)
	target := filepath.Join(avail, "app")
	os.WriteFile(target, []byte("proxy_pass http://127.0.0.1:3000;\n"), 0o644)
	link := filepath.Join(enabled, "app")
	os.Symlink("../sites-available/app", link)

	edits := []Edit{{Path: link, Old: "proxy_pass http://127.0.0.1:3000;", New: "proxy_pass http://127.0.0.1:3001;"}}
	ch, err := planFiles(files{}, edits)
	if err != nil {
		t.Fatal(err)
	}
	if ch[0].Path != target || ch[0].Link != link {
		t.Fatalf("got path %s link %s, want the target %s named by %s", ch[0].Path, ch[0].Link, target, link)
	}

	// The same link in a directory anyone may write is refused.
	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	bad := filepath.Join(open, "app")
	os.Symlink(target, bad)
	if _, err := planFiles(files{}, []Edit{{Path: bad, Old: "x", New: "y"}}); err == nil || !strings.Contains(err.Error(), "others may write") {
		t.Fatalf("got %v, want a refusal", err)
	}
	// A chain of links is refused too.
	chain := filepath.Join(enabled, "chain")
	os.Symlink("app", chain)
	if _, err := planFiles(files{}, []Edit{{Path: chain, Old: "x", New: "y"}}); err == nil {
		t.Fatal("followed a chain of symlinks")
	}
}

func TestOneFixAtATime(t *testing.T) {
	e := testEngine(t)
	unlock, err := e.lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.lock(); err == nil {
		t.Fatal("a second fix got the lock")
	}
	unlock()
	again, err := e.lock()
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

func TestLogRequestPath(t *testing.T) {
	l := `2026/11/24 05:31:04 [error] 1066#1066: *4 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: , request: "GET /app/x?y=1 HTTP/1.1", upstream: "http://127.0.0.1:44609/app/", host: "h"`
	if m := logRequest.FindStringSubmatch(l); m == nil || m[1] != "/app/x?y=1" {
		t.Fatalf("got %q, want the request path", m)
	}
}

// A temp file left by a killed run (between its creation and its rename)
// is removed by the next write into that directory; nothing else is.
func TestStaleTempFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.conf")
	os.WriteFile(conf, []byte("old\n"), 0o644)
	stale := filepath.Join(dir, ".app.conf"+tempMark+"0123456789ab")
	other := filepath.Join(dir, ".other.conf"+tempMark+"0123456789ab")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.WriteFile(other, []byte("not ours to judge"), 0o600)
	if err := swapAtomic(conf, []byte("new\n"), []byte("old\n"), fileMeta{Mode: 0o644, UID: os.Geteuid(), GID: os.Getegid()}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temp file %s left: %v", stale, err)
	}
	if _, err := os.Lstat(other); err != nil {
		t.Fatalf("another file's temp was removed: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".app.conf"+tempMark+"*")); len(m) != 0 {
		t.Fatalf("temp files left: %q", m)
	}
}

// The bytes are compared under the rename: when the file no longer holds
// what the fix read, the exchange is undone and the other writer's bytes stay.
func TestSwapKeepsAHandEdit(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "app.conf")
	os.WriteFile(conf, []byte("hand edit\n"), 0o644)
	err := swapAtomic(conf, []byte("ours\n"), []byte("as planned\n"), fileMeta{Mode: 0o644, UID: os.Geteuid(), GID: os.Getegid()})
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("got %v, want ErrChanged", err)
	}
	if got := readFile(t, conf); got != "hand edit\n" {
		t.Fatalf("got %q, want the hand edit kept", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
		t.Fatalf("temp files left: %q", m)
	}
}
