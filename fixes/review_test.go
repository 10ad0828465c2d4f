package fixes

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

// Live traffic to the failing location keeps failing until the change is in
// force; its error-log lines say nothing about the fix and must not roll a
// good fix back.
func TestFailuresBeforeTheReloadAreNotJudged(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	l := startNginx(t, worldDir(t), proxyServer(dead, ""))
	cause := checks.Cause{ID: "wrong-address", Target: dead, Facts: checks.Facts{Alternative: addr, PassAt: l.at("proxy_pass")}}
	o := l.outcome([]nginx.Pass{l.proxyPass(dead)}, cause)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, cause), "address")
	a, err := e.Apply(context.Background(), o, f, Options{Progress: func(s string) {
		t.Log(s)
		if s == "nginx -t ok after the change" {
			// A user's request while the file is written but not yet loaded.
			if got := l.get("/app/"); got != 502 {
				t.Errorf("before the reload: got %d, want 502", got)
			}
		}
	}})
	if err != nil || !a.Verified || a.RolledBack {
		t.Fatalf("got err %v verified %v rolled back %v, want a kept, verified fix\n%s", err, a.Verified, a.RolledBack, strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/app/", 200)
}

// A worker from before the reload finishes its request with the old config
// and logs its failure after the reload: not the new config's doing.
func TestOldWorkerLinesAreNotJudged(t *testing.T) {
	needRoot(t)
	inFlight := make(chan struct{}, 4)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		// Never blocks: the fix's probes and verification reach this
		// backend too, and a blocked handler would hold the server's Close.
		select {
		case inFlight <- struct{}{}:
		default:
		}
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprintln(w, "slow")
	})
	l := startNginx(t, worldDir(t), "    proxy_read_timeout 1s;\n"+proxyServer(addr, ""))
	cause := checks.Cause{ID: "upstream-timeout", Target: addr, Facts: checks.Facts{
		Setting: "proxy_read_timeout", SettingAt: l.at("proxy_read_timeout"), Took: 1500 * time.Millisecond,
		LocationAt: l.at("location /app/"), PassAt: l.at("proxy_pass"),
	}}
	pass := l.proxyPass(addr)
	pass.Settings["proxy_read_timeout"] = []nginx.Directive{{Name: "proxy_read_timeout", Args: []string{"1s"}, At: l.pos("proxy_read_timeout")}}
	o := l.outcome([]nginx.Pass{pass}, cause)
	e := testEngine(t)
	e.ReloadWait = 200 * time.Millisecond
	f := fixByKind(t, e.For(o, cause), "timeout")
	var c net.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	a, err := e.Apply(context.Background(), o, f, Options{Progress: func(s string) {
		t.Log(s)
		if s != "nginx -t ok after the change" {
			return
		}
		// A request the old worker holds across the reload; it times out
		// (1s) while the fix is being verified.
		for len(inFlight) > 0 {
			<-inFlight // the earlier requests', not ours
		}
		var err error
		if c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", l.Port)); err != nil {
			t.Error(err)
			return
		}
		fmt.Fprintf(c, "GET /app/ HTTP/1.0\r\nHost: x\r\n\r\n")
		select {
		case <-inFlight:
		case <-time.After(5 * time.Second):
			t.Error("the request did not reach the backend")
		}
		go bufio.NewReader(c).ReadString(0)
	}})
	if err != nil || !a.Verified || a.RolledBack {
		t.Fatalf("got err %v verified %v rolled back %v, want a kept, verified fix\n%s", err, a.Verified, a.RolledBack, strings.Join(a.Log, "\n"))
	}
	if !strings.Contains(strings.Join(a.Log, "\n"), "before the reload logged (not judged)") {
		t.Fatalf("the old worker's line was not seen:\n%s", strings.Join(a.Log, "\n"))
	}
}

// Our probe connects as root: a socket's mode does not stop it, so a
// connection is no proof that nginx's workers get through.
func TestRootProbeDoesNotVerifyAPermissionFix(t *testing.T) {
	needRoot(t)
	dir := t.TempDir() // 0700: www-data cannot pass, whatever the socket's mode
	sock := filepath.Join(dir, "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	os.Chmod(sock, 0o600)
	c := checks.Cause{ID: "socket-permission", Target: "unix:" + sock, Facts: checks.Facts{Socket: sock, WorkerUser: "www-data"}}
	o := &checks.Outcome{Snapshot: &checks.Snapshot{}, Causes: []checks.Cause{c}}
	e := testEngine(t)
	f := fixByKind(t, e.For(o, c), "chmod")
	a, err := e.Apply(context.Background(), o, f, Options{})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, strings.Join(a.Log, "\n"))
	}
	if a.Verified {
		t.Fatalf("verified by a root connection alone:\n%s", strings.Join(a.Log, "\n"))
	}
}

// Planning runs for every check's report: it reads, and connects nowhere.
func TestPlanningConnectsNowhere(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:8089")
	if err != nil {
		t.Skipf("port 8089 is taken: %v", err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "conf.d"), 0o755)
	main := filepath.Join(dir, "nginx.conf")
	os.WriteFile(main, []byte("events {}\nhttp {\n    include "+dir+"/conf.d/*.conf;\n}\n"), 0o644)
	cfg, err := nginx.Load(context.Background(), host.Live(), main)
	if err != nil {
		t.Fatal(err)
	}
	o := &checks.Outcome{Snapshot: &checks.Snapshot{Config: cfg}}
	e := testEngine(t)
	e.Self = ""
	f := fixByKind(t, e.Advice(o), "debug-log")
	select {
	case <-accepted:
		t.Fatal("planning connected to 127.0.0.1:8089")
	case <-time.After(200 * time.Millisecond):
	}
	// The snapshot's listeners are what say a port is taken.
	if !strings.Contains(f.Diff, "listen 127.0.0.1:8089;") {
		t.Fatalf("diff:\n%s", f.Diff)
	}
	o.Snapshot.Listeners = append(o.Snapshot.Listeners, host.Listener{Network: "tcp", Address: "127.0.0.1:8089", IP: "127.0.0.1", Port: 8089})
	if f := fixByKind(t, e.Advice(o), "debug-log"); !strings.Contains(f.Diff, "listen 127.0.0.1:8090;") {
		t.Fatalf("a listener in the snapshot was not avoided:\n%s", f.Diff)
	}
}

// Adding search permission to a directory keeps its setgid and sticky bits
// (chmod o+x does), and undo puts back exactly what was there.
func TestDirSearchKeepsSpecialBits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	os.Mkdir(dir, 0o700)
	if err := os.Chmod(dir, 0o750|os.ModeSetgid|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	mode := func() os.FileMode {
		fi, err := os.Lstat(dir)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSticky | os.ModeSetuid)
	}
	before := mode()
	if before&os.ModeSetgid == 0 {
		t.Skip("setgid on a directory not kept by this file system")
	}
	w := worker{}
	w.Name, w.UID, w.GID = "app", 12345, 12345
	p, ok := planDir(files{}, checks.Cause{ID: "socket-permission"}, w, dir)
	if !ok || p.modes[0].Bits != "o+x" {
		t.Fatalf("got %+v, want chmod o+x", p)
	}
	mb, err := p.modes[0].apply()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mode(), before|0o001; got != want {
		t.Fatalf("after o+x: got %v, want %v", got, want)
	}
	if done, err := restoreMode(mb); !done || err != nil {
		t.Fatalf("restore: %v %v", done, err)
	}
	if got := mode(); got != before {
		t.Fatalf("after undo: got %v, want %v", got, before)
	}
}

// The old owner and mode are in the journal on disk before the change is
// made: a crash right after it leaves an undoable record.
func TestModeJournaledBeforeTheChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	os.Mkdir(dir, 0o700)
	w := worker{}
	w.Name, w.UID, w.GID = "app", 12345, 12345
	p, ok := planDir(files{}, checks.Cause{ID: "socket-permission"}, w, dir)
	if !ok {
		t.Fatal("no plan")
	}
	e := testEngine(t)
	o := &checks.Outcome{Snapshot: &checks.Snapshot{}}
	journaled := false
	_, err := e.applyPlan(context.Background(), o, p, Options{Progress: func(s string) {
		if !strings.HasPrefix(s, "done: chmod") {
			return
		}
		// What a crash here would leave: only the journal on disk.
		j, err := e.Journal()
		if err != nil || len(j) != 1 {
			t.Errorf("journal: %v, %d entries", err, len(j))
			return
		}
		for _, m := range j[0].Modes {
			journaled = journaled || (m.Path == dir && m.Before.Mode.Perm() == 0o700)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !journaled {
		t.Fatal("the directory's old mode was not journaled when it was changed")
	}
	undo(t, e, "")
	if fi, _ := os.Lstat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("after undo: %v", fi.Mode().Perm())
	}
}

// An edit refused by nginx -t never reached nginx: restoring the file is the
// whole rollback, and nginx is not reloaded (which would load whatever else
// changed on disk since it started).
func TestFailedNginxTDoesNotReload(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	l := startNginx(t, worldDir(t), proxyServer(addr, ""))
	before := readFile(t, l.Conf)
	o := l.outcome([]nginx.Pass{l.proxyPass(addr)})
	e := testEngine(t)
	_, line, _ := parsePos(l.at("proxy_pass"))
	p := plan{Fix: Fix{ID: "test:bad:edit"}, nginxEdits: true, revertible: true,
		edits: []Edit{afterLine(t, l.Conf, line, "            proxy_buffer_size banana;")}}
	workers := children(l.Master)
	a, err := e.applyPlan(context.Background(), o, p, Options{})
	if err == nil || !a.RolledBack {
		t.Fatalf("got err %v rolled back %v, want an nginx -t failure rolled back", err, a.RolledBack)
	}
	if readFile(t, l.Conf) != before {
		t.Fatal("config not restored")
	}
	time.Sleep(100 * time.Millisecond)
	if now := children(l.Master); fmt.Sprint(now) != fmt.Sprint(workers) {
		t.Fatalf("nginx was reloaded: workers %v became %v\n%s", workers, now, strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/app/x", 200)
}

// A crash after the journal but before a file was written leaves the file as
// it was: undo finds nothing to restore there instead of refusing forever.
func TestUndoAfterACrashBeforeTheWrite(t *testing.T) {
	e := testEngine(t)
	conf := filepath.Join(t.TempDir(), "app.conf")
	os.WriteFile(conf, []byte("proxy_pass http://127.0.0.1:3000;\n"), 0o644)
	en := &Entry{ID: newJournalID(time.Now()), Fix: Fix{ID: "wrong-address:x:address"}, When: time.Now()}
	data := []byte(readFile(t, conf))
	b, err := e.backup(en, 0, conf, data)
	if err != nil {
		t.Fatal(err)
	}
	en.Files = []FileBackup{{Path: conf, Backup: b, Meta: fileMeta{Mode: 0o644, UID: os.Geteuid(), GID: os.Getegid()},
		Written: sha([]byte("proxy_pass http://127.0.0.1:3001;\n"))}}
	if err := e.save(en); err != nil {
		t.Fatal(err)
	}
	a := undo(t, e, "")
	if !a.RolledBack || readFile(t, conf) != string(data) {
		t.Fatalf("undo: %+v", a)
	}
	// Someone else's change is still refused.
	en.Undone = false
	e.save(en)
	os.WriteFile(conf, []byte("proxy_pass http://10.0.0.1:3000;\n"), 0o644)
	if _, err := e.Undo(context.Background(), en.ID); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("got %v, want a refusal", err)
	}
}

// The monitoring command is written into a cron line (run by /bin/sh) or a
// unit file: a path with a space or a shell character is not offered, never
// joined into a command.
func TestMonitorRefusesWordsAShellWouldSplit(t *testing.T) {
	e := testEngine(t)
	e.SystemdRoot = ""
	e.TextfileDir = t.TempDir()
	e.Self = "/usr/bin/true" // root's, in root's directories
	o := &checks.Outcome{Snapshot: &checks.Snapshot{}}
	fixByKind(t, e.Advice(o), "monitor")
	for _, conf := range []string{"/etc/nginx/nginx.conf;touch /tmp/pwned", "/etc/nginx/my site.conf", "/etc/nginx/$(id).conf", "/etc/nginx/100%.conf"} {
		o.Snapshot.Install.Config = conf
		for _, f := range e.Advice(o) {
			if strings.HasSuffix(baseID(f.ID), ":monitor") {
				t.Fatalf("offered for -c %q:\n%s", conf, f.Diff)
			}
		}
	}
	e.SystemdRoot = t.TempDir()
	o.Snapshot.Install.Config = "/etc/nginx/100%.conf"
	for _, f := range e.Advice(o) {
		if strings.HasSuffix(baseID(f.ID), ":monitor") {
			t.Fatalf("unit offered for -c %q:\n%s", o.Snapshot.Install.Config, f.Diff)
		}
	}
}

// A symlink above the socket, in a directory others may write, is not
// followed: whoever may write there could point the change at another
// socket. One in a directory only root (or we) may write is followed, as
// /var/run -> /run is.
func TestSocketChangeRefusesAnUntrustedSymlinkedDir(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	os.Mkdir(real, 0o755)
	sock := filepath.Join(real, "app.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	os.Chmod(sock, 0o600)
	mode := func() os.FileMode {
		fi, err := os.Lstat(sock)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	os.Symlink(real, filepath.Join(open, "run"))
	m := modeChange{Path: filepath.Join(open, "run", "app.sock"), Kind: "socket", UID: -1, GID: -1, Mode: 0o660}
	if _, err := m.apply(); err == nil || !strings.Contains(err.Error(), "others may write") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if got := mode(); got != 0o600 {
		t.Fatalf("the socket was changed through the link: %v", got)
	}
	// The same link where only we may write is followed; undo too.
	os.Symlink("real", filepath.Join(root, "run"))
	m.Path = filepath.Join(root, "run", "app.sock")
	mb, err := m.apply()
	if err != nil {
		t.Fatal(err)
	}
	if got := mode(); got != 0o660 {
		t.Fatalf("after the change: %v", got)
	}
	if done, err := restoreMode(mb); !done || err != nil {
		t.Fatalf("restore: %v %v", done, err)
	}
	if got := mode(); got != 0o600 {
		t.Fatalf("after undo: %v", got)
	}
	// The socket itself as a symlink is refused as before.
	os.Symlink(sock, filepath.Join(real, "link.sock"))
	m.Path = filepath.Join(real, "link.sock")
	if _, err := m.apply(); err == nil {
		t.Fatal("followed a symlinked socket")
	}
}

// A file the fix creates is never written over one that appeared since the
// plan checked it was absent.
func TestCreateNeverReplacesAFileMadeSince(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.conf")
	b := filepath.Join(dir, "b.conf")
	os.WriteFile(a, []byte("one\n"), 0o644)
	p := plan{Fix: Fix{ID: "test:create"}, revertible: true, edits: []Edit{
		{Path: a, Off: 4, New: "two\n"},
		{Path: b, Create: true, New: "ours\n"},
	}}
	e := testEngine(t)
	o := &checks.Outcome{Snapshot: &checks.Snapshot{}}
	res, err := e.applyPlan(context.Background(), o, p, Options{Progress: func(s string) {
		if strings.HasPrefix(s, "backed up") {
			os.WriteFile(b, []byte("theirs\n"), 0o600) // made between plan and write
		}
	}})
	if err == nil {
		t.Fatalf("applied over a file made since the plan:\n%s", strings.Join(res.Log, "\n"))
	}
	if got := readFile(t, b); got != "theirs\n" {
		t.Fatalf("%s: got %q, want theirs untouched", b, got)
	}
	if got := readFile(t, a); got != "one\n" {
		t.Fatalf("%s not restored: %q", a, got)
	}
}

// What runs is what was previewed: a fix whose commands come out different
// when planned again is refused.
func TestApplyRefusesCommandsOtherThanPreviewed(t *testing.T) {
	c := checks.Cause{ID: "selinux-denied", Target: "127.0.0.1:8080", Facts: checks.Facts{Port: 8080}}
	o := commandOutcome(c)
	e := testEngine(t)
	rec := &Recorder{}
	e.Runner = rec
	f := fixByKind(t, e.For(o, c), "semanage-port")
	shown := f
	shown.Commands = [][]string{{"semanage", "port", "-a", "-t", "http_port_t", "-p", "tcp", "8081"}}
	if _, err := e.Apply(context.Background(), o, shown, Options{}); err == nil {
		t.Fatal("applied commands other than the previewed ones")
	}
	if len(rec.Calls()) != 0 {
		t.Fatalf("ran %q", rec.Calls())
	}
	if _, err := e.Apply(context.Background(), o, f, Options{}); err != nil || len(rec.Calls()) != 1 {
		t.Fatalf("the previewed fix: err %v, ran %q", err, rec.Calls())
	}
}

// A rollback before the backend was reloaded restores the pool file and
// leaves the backend alone: it still runs what it read before.
func TestRollbackBeforeTheBackendReloadDoesNotReloadIt(t *testing.T) {
	dir := t.TempDir()
	pool := filepath.Join(dir, "app.conf")
	os.WriteFile(pool, []byte("[app]\nlisten = /run/app.sock\n"), 0o644)
	notASocket := filepath.Join(dir, "file.sock")
	os.WriteFile(notASocket, nil, 0o600)
	p := plan{Fix: Fix{ID: "test:pool"}, revertible: true,
		edits:         []Edit{afterLine(t, pool, 2, "listen.mode = 0660")},
		modes:         []modeChange{{Path: notASocket, Kind: "socket", UID: -1, GID: -1, Mode: 0o660}},
		reloadBackend: &reloadRef{Argv: []string{"systemctl", "reload", "php8.2-fpm.service"}}}
	e := testEngine(t)
	rec := &Recorder{}
	e.Runner = rec
	a, err := e.applyPlan(context.Background(), &checks.Outcome{Snapshot: &checks.Snapshot{}}, p, Options{})
	if err == nil || !a.RolledBack {
		t.Fatalf("got err %v rolled back %v, want the socket refused and a rollback", err, a.RolledBack)
	}
	if got := readFile(t, pool); got != "[app]\nlisten = /run/app.sock\n" {
		t.Fatalf("pool not restored: %q", got)
	}
	if calls := rec.Calls(); len(calls) != 0 {
		t.Fatalf("ran %q, want nothing", calls)
	}
}

// A master pid from an old journal entry that now names a worker is not
// signalled (a worker ignores HUP), nor is another process swapped in:
// the reload is refused with a message and the workers stay as they were.
func TestReloadOnlySignalsAMaster(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	l := startNginx(t, worldDir(t), proxyServer(addr, ""))
	var worker int
	for pid := range children(l.Master) {
		worker = pid
	}
	// A worker just forked still bears the master's title until it sets its own.
	for deadline := time.Now().Add(5 * time.Second); !alive(worker, "nginx: worker process") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	before := children(l.Master)
	e := testEngine(t)
	e.ReloadWait = time.Second
	nx := nginxRef{Binary: nginxBin, Config: l.Conf, Prefix: l.Dir, MasterPID: worker}
	var log []string
	err := e.reloadNginx(context.Background(), nx, children(worker), func(f string, a ...any) { log = append(log, fmt.Sprintf(f, a...)) })
	if err == nil || !strings.Contains(err.Error(), "nothing was signalled") || !strings.Contains(err.Error(), fmt.Sprintf("pid %d is not an nginx master", worker)) {
		t.Fatalf("reload with a worker's pid: got %v, want it refused\n%s", err, strings.Join(log, "\n"))
	}
	if after := children(l.Master); !maps.Equal(before, after) {
		t.Fatalf("nginx was reloaded: workers %v became %v", before, after)
	}
}

// A firewall rule's delete that failed (the rule was already gone) leaves a
// journal entry; undoing it must not insert the blocking rule again.
func TestUndoDoesNotReverseCommandsThatFailed(t *testing.T) {
	c := checks.Cause{ID: "firewall-blocked", Target: "127.0.0.1:3000", Facts: checks.Facts{Port: 3000}}
	o := commandOutcome(c)
	o.Snapshot.Firewall = host.Firewall{Rules: []host.Rule{{Tool: "iptables", Action: "reject", Port: 3000, Chain: "OUTPUT",
		Text: "-A OUTPUT -p tcp -m tcp --dport 3000 -j REJECT"}}}
	e := testEngine(t)
	listing := []byte("-P OUTPUT ACCEPT\n-A OUTPUT -p tcp -m tcp --dport 3000 -j REJECT\n")
	rec := &Recorder{Reply: func(argv []string) ([]byte, []byte, int, error) {
		if len(argv) > 1 && argv[1] == "-D" {
			return nil, []byte("iptables: Bad rule (does a matching rule exist in that chain?)."), 1, nil
		}
		if len(argv) > 1 && argv[1] == "-S" {
			return listing, nil, 0, nil
		}
		return nil, nil, 0, nil
	}}
	e.Runner = rec
	f := fixByKind(t, e.For(o, c), "firewall-iptables-1")
	if _, err := e.Apply(context.Background(), o, f, Options{}); err == nil {
		t.Fatal("a failed delete reported success")
	}
	u, _ := e.Undo(context.Background(), "")
	for _, call := range rec.Calls() {
		if len(call) > 1 && call[1] == "-I" {
			t.Fatalf("undo inserted the rule that was never deleted: %q\n%s", rec.Calls(), strings.Join(u.Log, "\n"))
		}
	}
	// When the delete did run, undo puts the rule back.
	// The rule was second; by the undo the rule before it is gone too, so
	// it goes back at the end of the chain rather than failing.
	before := []byte("-P OUTPUT ACCEPT\n-A OUTPUT -o lo -j ACCEPT\n-A OUTPUT -p tcp -m tcp --dport 3000 -j REJECT\n")
	rec2 := &Recorder{}
	rec2.Reply = func(argv []string) ([]byte, []byte, int, error) {
		if len(argv) > 1 && argv[1] == "-S" {
			if len(rec2.Calls()) > 2 {
				return []byte("-P OUTPUT ACCEPT\n"), nil, 0, nil
			}
			return before, nil, 0, nil
		}
		return nil, nil, 0, nil
	}
	e.Runner = rec2
	if _, err := e.Apply(context.Background(), o, f, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Undo(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	calls := rec2.Calls()
	if len(calls) != 4 || calls[1][1] != "-D" || calls[3][1] != "-I" || calls[3][3] != "1" {
		t.Fatalf("got %q, want the listing, the delete, the listing, then the insert at 1", calls)
	}
}

// Another backend whose address starts with the target's is not the target.
func TestVerifyJudgesOnlyTheTargetsLines(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "error.log")
	os.WriteFile(logPath, nil, 0o644)
	o := &checks.Outcome{Snapshot: &checks.Snapshot{Config: &nginx.Config{ErrorLogs: []nginx.LogFile{{Path: logPath}}}}}
	p := plan{cause: checks.Cause{ID: "backend-down", Target: "127.0.0.1:80"}}
	e := testEngine(t)
	e.Watch = 0
	e.ProbeTimeout = 100 * time.Millisecond
	offsets := errorLogOffsets(o)
	other := `2026/11/24 06:30:00 [error] 100#100: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: , upstream: "http://127.0.0.1:8080/", host: "x"` + "\n"
	os.WriteFile(logPath, []byte(other), 0o644)
	if v := e.verify(context.Background(), o, p, offsets, nil, t.Logf); v.regressed {
		t.Fatalf("a line about 127.0.0.1:8080 judged a fix of 127.0.0.1:80: %s", v.reason)
	}
	ours := strings.ReplaceAll(other, "127.0.0.1:8080", "127.0.0.1:80")
	os.WriteFile(logPath, []byte(other+ours), 0o644)
	if v := e.verify(context.Background(), o, p, offsets, nil, t.Logf); !v.regressed {
		t.Fatal("a line about the target itself was not judged")
	}
}

// A rule whose text has a quoted word is not split into argv.
func TestFirewallRuleWithQuotesIsNotSplit(t *testing.T) {
	c := checks.Cause{ID: "firewall-blocked", Target: "127.0.0.1:3000", Facts: checks.Facts{Port: 3000}}
	for _, r := range []host.Rule{
		{Tool: "iptables", Action: "reject", Port: 3000, Chain: "OUTPUT",
			Text: `-A OUTPUT -p tcp -m tcp --dport 3000 -m comment --comment "maintenance window" -j REJECT`},
		{Tool: "nft", Action: "drop", Port: 3000, Text: `tcp dport 3000 comment "maintenance window" drop # handle 7`,
			Delete: []string{"nft", "delete", "rule", "inet", "filter", "output", "handle", "7"}},
	} {
		o := commandOutcome(c)
		o.Snapshot.Firewall = host.Firewall{Rules: []host.Rule{r}}
		if fs := testEngine(t).For(o, c); len(fs) != 0 {
			t.Fatalf("%s: offered %q with undo %q", r.Tool, fs[0].Commands, fs[0].Undo)
		}
	}
}

// The monitoring job runs as root: a binary in a directory someone else
// may write is not offered, and the advice says why.
func TestMonitorNeedsARootOnlyBinary(t *testing.T) {
	e := testEngine(t)
	e.SystemdRoot = ""
	e.TextfileDir = t.TempDir()
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	e.Self = filepath.Join(dir, "ngxdoctor")
	os.WriteFile(e.Self, []byte("#!/bin/sh\n"), 0o755)
	o := &checks.Outcome{Snapshot: &checks.Snapshot{}}
	f := fixByKind(t, e.Advice(o), "monitor")
	if !strings.Contains(f.NotOffered, dir+" is writable by others") || len(f.Commands) != 0 || f.Diff != "" {
		t.Fatalf("got %+v, want a monitor advice not offered because %s is writable", f, dir)
	}
	if _, err := e.Apply(context.Background(), o, f, Options{}); err == nil || !strings.Contains(err.Error(), "not offered") {
		t.Fatalf("applied a monitor job not offered: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(e.CronDir, "*")); len(m) != 0 {
		t.Fatalf("wrote %q", m)
	}
}
