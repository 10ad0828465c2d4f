package lab

import (
	"context"
	"errors"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needs skips a test that needs something this machine lacks, except in CI,
// where the image is built to have it and a skip would hide a regression.
func needs(t *testing.T, ok bool, why string) {
	t.Helper()
	labtest.Need(t, ok, why)
}

func haveNginx(t *testing.T) {
	t.Helper()
	_, err := findNginx()
	needs(t, err == nil, "nginx is not installed")
}

func TestScenarios(t *testing.T) {
	haveNginx(t)
	for _, s := range Scenarios() {
		t.Run(s.Name, func(t *testing.T) {
			if s.Hosts != "" && !labtest.PrivateHosts(t, s.Hosts) {
				return
			}
			t.Parallel()
			if s.NeedsRoot {
				needs(t, os.Geteuid() == 0, "the scenario needs root: "+s.rootReason)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()

			l, err := Start(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			closed := false
			defer func() {
				if !closed {
					l.Close()
				}
			}()

			statuses := l.Trigger(ctx, 2)
			if len(statuses) < max(2, s.MinRequests) {
				t.Errorf("Trigger made %d requests, want at least %d", len(statuses), max(2, s.MinRequests))
			}
			st, err := l.Get(ctx, l.Path)
			if err != nil && s.Status != 0 {
				t.Errorf("Get %s: %v", l.Path, err)
			}
			if st != s.Status && !(s.Intermittent && st == http.StatusOK) {
				t.Errorf("Get %s: got status %d, want %d", l.Path, st, s.Status)
			}

			// nginx writes the access log line after the response, so wait for it.
			want := s.AccessStatus
			if want == "" {
				want = strconv.Itoa(s.Status)
			}
			waitFor(t, l.AccessLog, `HTTP/1.1" `+want+" ")
			logText := readLog(t, l.ErrorLog)
			if s.Message != "" && !strings.Contains(logText, s.Message) {
				t.Errorf("error log lacks %q:\n%s", s.Message, logText)
			}
			if s.Message == "" {
				for _, level := range []string{"[error]", "[crit]", "[alert]", "[emerg]"} {
					if strings.Contains(logText, level) {
						t.Errorf("healthy error log has %s lines:\n%s", level, logText)
					}
				}
			}
			if t.Failed() {
				site, _ := os.ReadFile(l.Site)
				t.Logf("site %s:\n%s", l.Site, site)
			}
			t.Logf("%s: %s", s.Name, firstLine(logText, s.Message))

			pids := l.Processes()
			if len(pids) < 2 {
				t.Errorf("got %d lab processes before Close, want nginx master and workers", len(pids))
			}
			port := ""
			if len(l.Backends) > 0 {
				if i := strings.LastIndex(l.Backends[0], ":"); i >= 0 {
					port = l.Backends[0][i+1:]
				}
			}
			closed = true
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if left := l.Processes(); len(left) > 0 {
				t.Errorf("processes left after Close: %v", left)
			}
			if _, err := os.Stat(l.Dir); !os.IsNotExist(err) {
				t.Errorf("dir %s left after Close (%v)", l.Dir, err)
			}
			if strings.HasPrefix(s.Name, "firewall-blocked") {
				out, err := exec.Command("iptables", "-S", "OUTPUT").CombinedOutput()
				if err != nil {
					t.Fatalf("iptables -S: %v: %s", err, out)
				}
				if strings.Contains(string(out), "--dport "+port+" ") {
					t.Errorf("iptables rule for port %s left after Close:\n%s", port, out)
				}
			}
		})
	}
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func waitFor(t *testing.T, path, substr string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		text := readLog(t, path)
		if strings.Contains(text, substr) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s lacks %q:\n%s", path, substr, text)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func firstLine(text, substr string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if substr != "" && strings.Contains(line, substr) {
			return line
		}
	}
	return "(no line)"
}

func TestFind(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Scenarios() {
		if seen[s.Name] {
			t.Errorf("duplicate scenario %s", s.Name)
		}
		seen[s.Name] = true
		got, ok := Find(s.Name)
		if !ok || got.Name != s.Name {
			t.Errorf("Find(%q) = %q, %v", s.Name, got.Name, ok)
		}
		if (s.Name == "healthy") != (s.Cause == "") {
			t.Errorf("%s: cause %q; only healthy has none", s.Name, s.Cause)
		}
	}
	if _, ok := Find("nosuch"); ok {
		t.Error("Find(nosuch) found something")
	}
}

func TestStartUnknown(t *testing.T) {
	if _, err := Start(context.Background(), Scenario{Name: "x"}); err == nil {
		t.Error("Start of a scenario not from Scenarios() succeeded")
	}
}

func TestReload(t *testing.T) {
	haveNginx(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, _ := Find("healthy")
	l, err := Start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := l.workers()
	if err := l.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for pid := range l.workers() {
		if before[pid] {
			t.Errorf("worker %d survived the reload", pid)
		}
	}
	if st, err := l.Get(ctx, "/"); err != nil || st != 200 {
		t.Errorf("after reload: got %d, %v, want 200", st, err)
	}

	// A broken config is refused with nginx's own message, and the old one keeps serving.
	if err := os.WriteFile(l.Site, []byte("server { listen nonsense; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = l.Reload(ctx)
	if err == nil || !strings.Contains(err.Error(), "emerg") {
		t.Errorf("reload of a broken config: got %v, want an [emerg] error", err)
	}
	if st, err := l.Get(ctx, "/"); err != nil || st != 200 {
		t.Errorf("after refused reload: got %d, %v, want 200", st, err)
	}
}

func TestNotRootRefused(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs only as a non-root user (the refusal is for them)")
	}
	s, _ := Find("socket-permission")
	_, err := Start(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "needs root") {
		t.Errorf("got %v, want a needs-root error", err)
	}
}

// A scenario whose config nginx rejects: Start reports nginx's own words and
// leaves nothing behind.
func TestStartFailureCleansUp(t *testing.T) {
	haveNginx(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var dir string
	var backend string
	s := Scenario{Name: "broken", setup: func(ctx context.Context, l *Lab) (string, error) {
		dir = l.Dir
		addr, err := l.httpBackend("127.0.0.1:0", okHandler())
		backend = addr
		return l.server("", "location / {\n    proxy_pass http://127.0.0.1:notaport;\n}"), err
	}}
	l, err := Start(ctx, s)
	if err == nil {
		l.Close()
		t.Fatal("Start of a broken config succeeded")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "emerg") {
		t.Errorf("got %v, want nginx's [emerg] message in the error", err)
	}
	if _, serr := os.Stat(dir); !os.IsNotExist(serr) {
		t.Errorf("dir %s left after a failed Start", dir)
	}
	if listening(backend) {
		t.Errorf("backend %s still listening after a failed Start", backend)
	}
}

// A setup that fails after adding its firewall rule: the rule goes too.
func TestStartFailureRemovesRule(t *testing.T) {
	needs(t, os.Geteuid() == 0, "adding an iptables rule needs root")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := Scenario{Name: "half", setup: func(ctx context.Context, l *Lab) (string, error) {
		if err := l.reject(ctx, port); err != nil {
			return "", err
		}
		return "", errors.New("planned failure")
	}}
	if l, err := Start(ctx, s); err == nil {
		l.Close()
		t.Fatal("Start succeeded")
	}
	out, err := exec.Command("iptables", "-S", "OUTPUT").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables -S: %v: %s", err, out)
	}
	if strings.Contains(string(out), "--dport "+strconv.Itoa(port)+" ") {
		t.Errorf("rule for port %d left after a failed Start:\n%s", port, out)
	}
}

// Each broken lab heals with the change a fix would make, so the failure is
// the scenario's cause and nothing else, and fixes can be verified on it.
func TestRepairs(t *testing.T) {
	haveNginx(t)
	edit := func(old, new string) func(*testing.T, *Lab) {
		return func(t *testing.T, l *Lab) {
			t.Helper()
			data, err := os.ReadFile(l.Site)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), old) {
				t.Fatalf("%s lacks %q", l.Site, old)
			}
			if err := os.WriteFile(l.Site, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := l.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		repair func(*testing.T, *Lab)
	}{
		{"wrong-address", func(t *testing.T, l *Lab) {
			edit("http://"+l.Backends[0], "http://"+l.Listeners[0])(t, l)
		}},
		// The pass each side's protocol wants (what invalid-response names).
		{"invalid-response-uwsgi", func(t *testing.T, l *Lab) {
			edit("proxy_pass http://"+l.Backends[0]+";", "include uwsgi_params;\n    uwsgi_pass "+l.Backends[0]+";")(t, l)
		}},
		{"invalid-response-uwsgi-http", func(t *testing.T, l *Lab) {
			edit("uwsgi_pass "+l.Backends[0]+";", "proxy_pass http://"+l.Backends[0]+";")(t, l)
		}},
		{"upstream-timeout", edit("proxy_read_timeout 1s;", "proxy_read_timeout 5s;")},
		{"header-too-big", edit("proxy_buffer_size 4k;", "proxy_buffer_size 32k;\n    proxy_buffers 8 32k;\n    proxy_busy_buffers_size 64k;")},
		{"socket-permission-dir", func(t *testing.T, l *Lab) {
			if err := os.Chmod(filepath.Dir(strings.TrimPrefix(l.Backends[0], "unix:")), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
		{"socket-permission", func(t *testing.T, l *Lab) {
			if err := os.Chmod(strings.TrimPrefix(l.Backends[0], "unix:"), 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{"firewall-blocked", func(t *testing.T, l *Lab) {
			port := l.Backends[0][strings.LastIndex(l.Backends[0], ":")+1:]
			out, err := exec.Command("iptables", "-w", "5", "-D", "OUTPUT", "-o", "lo", "-p", "tcp", "-d", "127.0.0.1",
				"--dport", port, "-j", "REJECT", "--reject-with", "icmp-host-unreachable").CombinedOutput()
			if err != nil {
				t.Fatalf("iptables -D: %v: %s", err, out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, ok := Find(tt.name)
			if !ok {
				t.Fatalf("no scenario %s", tt.name)
			}
			if s.NeedsRoot {
				needs(t, os.Geteuid() == 0, "the scenario needs root: "+s.rootReason)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			l, err := Start(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := l.Close(); err != nil {
					t.Error(err)
				}
			}()
			if st, _ := l.Get(ctx, l.Path); st != s.Status {
				t.Fatalf("before the repair: got %d, want %d", st, s.Status)
			}
			tt.repair(t, l)
			if st, err := l.Get(ctx, l.Path); st != 200 {
				t.Errorf("after the repair: got %d (%v), want 200", st, err)
			}
		})
	}
}
