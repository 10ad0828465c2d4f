package fixes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

const phpFPM = "/usr/sbin/php-fpm8.2"

type fpm struct {
	t      *testing.T
	conf   string
	pool   string
	sock   string
	cmd    *exec.Cmd
	stderr *strings.Builder
}

// startFPM runs php-fpm in the foreground with one pool whose socket only
// root may use, as a packaged pool with the wrong listen.* would.
func startFPM(t *testing.T, dir string) *fpm {
	t.Helper()
	for _, d := range []string{"pool.d", "run", "www"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	f := &fpm{t: t, conf: filepath.Join(dir, "php-fpm.conf"), pool: filepath.Join(dir, "pool.d", "app.conf"), sock: filepath.Join(dir, "run", "php.sock")}
	os.WriteFile(filepath.Join(dir, "www", "index.php"), []byte("<?php echo \"hello from php\\n\";\n"), 0o644)
	os.WriteFile(f.conf, []byte(fmt.Sprintf("[global]\npid = %s/php-fpm.pid\nerror_log = %s/php-fpm.log\ndaemonize = no\n\ninclude = %s/pool.d/*.conf\n", dir, dir, dir)), 0o644)
	os.WriteFile(f.pool, []byte(fmt.Sprintf("; the app's pool\n[app]\nuser = www-data\ngroup = www-data\nlisten = %s\nlisten.owner = root\n;listen.group = www-data\npm = static\npm.max_children = 1\n", f.sock)), 0o644)
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *fpm) start() {
	f.t.Helper()
	f.stderr = &strings.Builder{}
	f.cmd = exec.Command(phpFPM, "-F", "-y", f.conf)
	f.cmd.Stderr = f.stderr
	if err := f.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Lstat(f.sock); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("php-fpm did not start: %s", f.stderr)
}

func (f *fpm) stop() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	f.cmd.Process.Signal(syscall.SIGQUIT)
	done := make(chan struct{})
	go func() { f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		f.cmd.Process.Kill()
		<-done
	}
	f.cmd = nil
}

func (f *fpm) restart() {
	f.stop()
	os.Remove(f.sock)
	f.start()
}

func phpLab(t *testing.T) (*nginxLab, *fpm, checks.Cause, *checks.Outcome) {
	t.Helper()
	needRoot(t, phpFPM)
	dir := worldDir(t)
	f := startFPM(t, dir)
	l := startNginxMain(t, dir, "user www-data;\n", `    server {
        listen 127.0.0.1:{{PORT}};
        root {{DIR}}/www;
        location ~ \.php$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
            fastcgi_pass unix:{{DIR}}/run/php.sock;
        }
    }
`)
	target := "unix:" + f.sock
	cause := checks.Cause{ID: "socket-permission", Target: target, Facts: checks.Facts{
		Socket: f.sock, WorkerUser: "www-data", PassAt: l.at("fastcgi_pass"), LocationAt: l.at("location ~"),
	}}
	pass := nginx.Pass{Directive: "fastcgi_pass", Value: target, At: l.pos("fastcgi_pass"), Server: 0,
		Location: `~ \.php$`, Module: "fastcgi", Address: target}
	o := l.outcome([]nginx.Pass{pass}, cause)
	// The regex location has no literal path: verification takes the
	// failing request from the error log, as checks.Run reads it.
	o.Snapshot.ErrorLogs = []logs.ErrorLog{{Path: filepath.Join(dir, "error.log"), Entries: []logs.Entry{
		{Class: logs.PermissionDenied, Errno: 13, Target: target, Request: "GET /index.php HTTP/1.1"},
	}}}
	o.Snapshot.Processes = []host.Process{{PID: int32(f.cmd.Process.Pid), Name: "php-fpm8.2", Cmdline: []string{phpFPM, "-F", "-y", f.conf}}}
	l.wantStatus("/index.php", 502)
	return l, f, cause, o
}

func TestSocketImmediateAndDurable(t *testing.T) {
	l, f, cause, o := phpLab(t)
	e := testEngine(t)
	fs := e.For(o, cause)
	imm := fixByKind(t, fs, "chmod")
	dur := fixByKind(t, fs, "pool")
	if !imm.Transient || imm.Durable != dur.ID {
		t.Fatalf("immediate fix: transient %v durable %q, want true and %q", imm.Transient, imm.Durable, dur.ID)
	}
	wantCmds := [][]string{{"chown", "root:www-data", f.sock}, {"chmod", "0660", f.sock}}
	if fmt.Sprint(imm.Commands) != fmt.Sprint(wantCmds) {
		t.Fatalf("preview commands: got %q, want %q", imm.Commands, wantCmds)
	}

	// Immediate: 200 now; undo brings back the owner and mode it had.
	fi0, _ := os.Lstat(f.sock)
	a := apply(t, e, o, imm)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/index.php", 200)
	undo(t, e, "")
	if fi, _ := os.Lstat(f.sock); fi.Mode() != fi0.Mode() || fi.Sys().(*syscall.Stat_t).Gid != fi0.Sys().(*syscall.Stat_t).Gid {
		t.Fatalf("socket after undo: got %v gid %d, want %v gid %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Gid, fi0.Mode(), fi0.Sys().(*syscall.Stat_t).Gid)
	}
	l.wantStatus("/index.php", 502)

	// Durable: the pool says who may connect, so a restart keeps it working.
	poolBefore := readFile(t, f.pool)
	if !strings.Contains(dur.Diff, "-listen.owner = root\n+listen.owner = www-data") || !strings.Contains(dur.Diff, "+listen.mode = 0660") {
		t.Fatalf("pool diff:\n%s", dur.Diff)
	}
	a = apply(t, e, o, dur)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/index.php", 200)
	f.restart()
	l.wantStatus("/index.php", 200)

	// Undo in a new engine long after: the pool file comes back byte for
	// byte; the php-fpm that applied it is gone, so the change takes
	// effect at its next restart.
	fresh := testEngine(t)
	fresh.JournalDir = e.JournalDir
	undo(t, fresh, a.JournalID)
	if readFile(t, f.pool) != poolBefore {
		t.Fatal("pool file not restored byte for byte")
	}
	f.restart()
	l.wantStatus("/index.php", 502)
}

func TestSocketSymlinkRefused(t *testing.T) {
	_, f, cause, o := phpLab(t)
	e := testEngine(t)
	imm := fixByKind(t, e.For(o, cause), "chmod")
	p, ok := e.find(o, imm.ID)
	if !ok {
		t.Fatal("planned fix not found again")
	}
	// Someone swaps the socket for a symlink to a private file.
	victim := filepath.Join(filepath.Dir(f.sock), "victim")
	os.WriteFile(victim, []byte("secret\n"), 0o600)
	f.stop()
	os.Remove(f.sock)
	if err := os.Symlink(victim, f.sock); err != nil {
		t.Fatal(err)
	}
	if got := e.For(o, cause); len(got) != 0 && strings.HasSuffix(baseID(got[0].ID), ":chmod") {
		t.Fatal("a chmod fix is offered for a symlink")
	}
	_, err := e.applyPlan(context.Background(), o, p, Options{})
	if err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("got %v, want a refusal naming the symlink", err)
	}
	fi, _ := os.Lstat(victim)
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o600 || st.Gid != 0 || readFile(t, victim) != "secret\n" {
		t.Fatalf("victim changed: %v gid %d", fi.Mode(), st.Gid)
	}
}
