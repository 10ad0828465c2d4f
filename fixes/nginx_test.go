package fixes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/checks/nginx"
)

func backend(t *testing.T, h http.HandlerFunc) (string, int) {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	addr := s.Listener.Addr().(*net.TCPAddr)
	return addr.String(), addr.Port
}

func proxyServer(backendAddr string, extra string) string {
	return `    server {
        listen 127.0.0.1:{{PORT}};
        location /app/ {
            proxy_pass http://` + backendAddr + `;
` + extra + `        }
    }
`
}

func (l *nginxLab) proxyPass(addr string) nginx.Pass {
	return nginx.Pass{Directive: "proxy_pass", Value: "http://" + addr, At: l.pos("proxy_pass"),
		Server: 0, Location: "/app/", Module: "proxy", Scheme: "http", Address: addr, Settings: nginx.Settings{}}
}

func TestHeaderTooBigBecomes200AndUndoes(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 9000))
		fmt.Fprintln(w, "ok")
	})
	l := startNginx(t, worldDir(t), proxyServer(addr, ""))
	l.wantStatus("/app/x", 502)
	before := readFile(t, l.Conf)

	cause := checks.Cause{ID: "header-too-big", Target: addr, Facts: checks.Facts{
		Setting: "proxy_buffer_size", HeaderBytes: 9100, LocationAt: l.at("location /app/"), PassAt: l.at("proxy_pass"),
	}}
	o := l.outcome([]nginx.Pass{l.proxyPass(addr)}, cause)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, cause), "buffers")
	if !strings.Contains(f.Diff, "+            proxy_buffer_size 16k;") || !strings.Contains(f.Diff, "+            proxy_buffers 8 8k;") {
		t.Fatalf("diff:\n%s", f.Diff)
	}
	a := apply(t, e, o, f)
	if !a.Verified || a.RolledBack {
		t.Fatalf("got verified %v rolled back %v, want verified\n%s", a.Verified, a.RolledBack, strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/app/x", 200)

	// Undo from a fresh engine: only the journal is needed.
	fresh := testEngine(t)
	fresh.JournalDir = e.JournalDir
	undo(t, fresh, "")
	if got := readFile(t, l.Conf); got != before {
		t.Fatalf("config after undo differs:\n%s", got)
	}
	l.wantStatus("/app/x", 502)
	if _, err := fresh.Undo(context.Background(), ""); err == nil {
		t.Fatal("a second undo found something to undo")
	}
}

func TestEditFailingNginxTIsRestored(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	l := startNginx(t, worldDir(t), proxyServer(addr, ""))
	before := readFile(t, l.Conf)
	fi0, _ := os.Stat(l.Conf)
	os.Chmod(l.Conf, 0o640)
	o := l.outcome([]nginx.Pass{l.proxyPass(addr)})
	e := testEngine(t)
	_, line, _ := parsePos(l.at("proxy_pass"))
	p := plan{Fix: Fix{ID: "test:bad:edit"}, nginxEdits: true, revertible: true,
		edits: []Edit{afterLine(t, l.Conf, line, "            proxy_buffer_size banana;")}}
	a, err := e.applyPlan(context.Background(), o, p, Options{})
	if err == nil || !a.RolledBack {
		t.Fatalf("got err %v rolled back %v, want an nginx -t failure rolled back", err, a.RolledBack)
	}
	if got := readFile(t, l.Conf); got != before {
		t.Fatalf("config not restored byte for byte:\n%s", got)
	}
	if fi, _ := os.Stat(l.Conf); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode after restore: got %v, want 0640 (was %v)", fi.Mode().Perm(), fi0.Mode().Perm())
	}
	l.wantStatus("/app/x", 200)
	if !alive(l.Master, "nginx") {
		t.Fatal("nginx stopped")
	}
}

func TestRefusesWhenConfigAlreadyFails(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {})
	l := startNginx(t, worldDir(t), proxyServer(addr, ""))
	// Break the config elsewhere: the fix must not touch a config nginx -t rejects.
	data := readFile(t, l.Conf)
	broken := strings.Replace(data, "events {", "events { bogus_directive;", 1)
	os.WriteFile(l.Conf, []byte(broken), 0o644)
	o := l.outcome([]nginx.Pass{l.proxyPass(addr)})
	_, line, _ := parsePos(l.at("proxy_pass"))
	p := plan{Fix: Fix{ID: "test:edit"}, nginxEdits: true, revertible: true,
		edits: []Edit{afterLine(t, l.Conf, line, "            proxy_buffer_size 16k;")}}
	_, err := testEngine(t).applyPlan(context.Background(), o, p, Options{})
	if err == nil || !strings.Contains(err.Error(), "before any change") {
		t.Fatalf("got %v, want a refusal", err)
	}
	if got := readFile(t, l.Conf); got != broken {
		t.Fatal("the config was changed")
	}
}

func TestWrongAddressBecomes200(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	l := startNginx(t, worldDir(t), proxyServer(dead, "            # keep this comment\n"))
	l.wantStatus("/app/", 502)
	before := readFile(t, l.Conf)
	cause := checks.Cause{ID: "wrong-address", Target: dead, Facts: checks.Facts{Alternative: addr, PassAt: l.at("proxy_pass")}}
	o := l.outcome([]nginx.Pass{l.proxyPass(dead)}, cause)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, cause), "address")
	a := apply(t, e, o, f)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/app/", 200)
	after := readFile(t, l.Conf)
	if want := strings.Replace(before, dead, addr, 1); after != want {
		t.Fatalf("edit touched more than the address:\n%s", after)
	}
	undo(t, e, a.JournalID)
	if readFile(t, l.Conf) != before {
		t.Fatal("undo did not restore the config")
	}
	l.wantStatus("/app/", 502)
}

func TestRegressionIsRolledBack(t *testing.T) {
	needRoot(t)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	alsoDead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	l := startNginx(t, worldDir(t), proxyServer(dead, ""))
	before := readFile(t, l.Conf)
	// The alternative is wrong too: nginx -t passes and the reload works,
	// but the request still fails, so the change is undone.
	cause := checks.Cause{ID: "wrong-address", Target: dead, Facts: checks.Facts{Alternative: alsoDead, PassAt: l.at("proxy_pass")}}
	o := l.outcome([]nginx.Pass{l.proxyPass(dead)}, cause)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, cause), "address")
	a, err := e.Apply(context.Background(), o, f, Options{})
	if err == nil || !a.RolledBack || a.Verified {
		t.Fatalf("got err %v rolled back %v verified %v, want a rollback\n%s", err, a.RolledBack, a.Verified, strings.Join(a.Log, "\n"))
	}
	if readFile(t, l.Conf) != before {
		t.Fatal("config not restored after the regression")
	}
	if !alive(l.Master, "nginx") {
		t.Fatal("nginx stopped")
	}
	// The running config is the old one again: it names the old address.
	l.get("/app/")
	time.Sleep(200 * time.Millisecond)
	if log := readFile(t, filepath.Join(l.Dir, "error.log")); !strings.Contains(log[strings.LastIndex(log, "connect()"):], dead) {
		t.Fatal("nginx was not reloaded with the restored config")
	}
	if _, err := e.Undo(context.Background(), ""); err == nil {
		t.Fatal("a rolled-back fix is offered for undo")
	}
}

func TestTimeoutBecomes200(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprintln(w, "slow")
	})
	l := startNginx(t, worldDir(t), "    proxy_read_timeout 1s;\n"+proxyServer(addr, ""))
	l.wantStatus("/app/", 504)
	before := readFile(t, l.Conf)
	cause := checks.Cause{ID: "upstream-timeout", Target: addr, Facts: checks.Facts{
		Setting: "proxy_read_timeout", SettingAt: l.at("proxy_read_timeout"), Took: 1500 * time.Millisecond,
		LocationAt: l.at("location /app/"), PassAt: l.at("proxy_pass"),
	}}
	pass := l.proxyPass(addr)
	pass.Settings["proxy_read_timeout"] = []nginx.Directive{{Name: "proxy_read_timeout", Args: []string{"1s"}, At: l.pos("proxy_read_timeout")}}
	o := l.outcome([]nginx.Pass{pass}, cause)
	e := testEngine(t)
	f := fixByKind(t, e.For(o, cause), "timeout")
	// The http-level line serves other locations too: the fix overrides in the location.
	if !strings.Contains(f.Diff, "+            proxy_read_timeout 60s;") || strings.Contains(f.Diff, "-    proxy_read_timeout 1s;") {
		t.Fatalf("diff:\n%s", f.Diff)
	}
	a := apply(t, e, o, f)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/app/", 200)
	undo(t, e, "")
	if readFile(t, l.Conf) != before {
		t.Fatal("undo did not restore the config")
	}
	l.wantStatus("/app/", 504)
}

func TestDebugLogAdvice(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	l := startNginx(t, worldDir(t), "    include {{DIR}}/conf.d/*.conf;\n"+proxyServer(addr, ""))
	o := l.outcome([]nginx.Pass{l.proxyPass(addr)})
	o.Snapshot.Config.AccessLogs = []nginx.LogFile{{Path: filepath.Join(l.Dir, "access.log")}}
	e := testEngine(t)
	e.Self = "" // no monitoring advice here
	fs := e.Advice(o)
	f := fixByKind(t, fs, "debug-log")
	a := apply(t, e, o, f)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	l.wantStatus("/app/", 200)
	// nginx logs a request after answering it: wait for the line.
	log := ""
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if log = readFile(t, filepath.Join(l.Dir, "ngxdoctor-upstream.log")); strings.Contains(log, "upstream="+addr) {
			break
		}
	}
	if !strings.Contains(log, "upstream="+addr) {
		t.Fatalf("upstream log: %q", log)
	}
	undo(t, e, "")
	if _, err := os.Lstat(filepath.Join(l.Dir, "conf.d", debugLogName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("undo left the file: %v", err)
	}
}

// A reload is the fix of config-not-loaded only: another cause (here a
// backend that is down) is never "fixed" by a reload.
func TestReloadForConfigNotLoaded(t *testing.T) {
	needRoot(t)
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	l := startNginx(t, worldDir(t), proxyServer(addr, ""))
	down := checks.Cause{ID: checks.CauseBackendDown, Target: addr}
	o := l.outcome([]nginx.Pass{l.proxyPass(addr)}, down)
	e := testEngine(t)
	o.Snapshot.Processes = []host.Process{{PID: int32(l.Master), Name: "nginx", Started: time.Now().Add(-time.Hour)}}
	if fs := e.For(o, down); len(fs) != 0 {
		t.Fatalf("got %d fixes for backend-down, want none", len(fs))
	}
	cause := checks.Cause{ID: checks.CauseConfigNotLoaded, Target: l.Conf, Facts: checks.Facts{PassAt: l.at("proxy_pass")}}
	o.Causes = []checks.Cause{cause}
	f := fixByKind(t, e.For(o, cause), "reload")
	if got, want := fmt.Sprint(f.Commands), fmt.Sprint([][]string{{"kill", "-HUP", fmt.Sprint(l.Master)}}); got != want {
		t.Fatalf("commands: got %s, want %s", got, want)
	}
	old := children(l.Master)
	a := apply(t, e, o, f)
	if !a.Verified {
		t.Fatalf("not verified:\n%s", strings.Join(a.Log, "\n"))
	}
	for pid := range children(l.Master) {
		if old[pid] {
			t.Fatalf("old worker %d still runs after the reload", pid)
		}
	}
	// A config that fails nginx -t is never offered a reload.
	bad := cause
	bad.ID = "config-invalid"
	o.Causes = []checks.Cause{bad}
	if fs := e.For(o, bad); len(fs) != 0 {
		t.Fatalf("got %q for config-invalid, want no fix", fs[0].ID)
	}
}
