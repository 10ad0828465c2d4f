package checks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
)

// TestEvidenceScenarios runs the incidents where the evidence must go as
// deep as nginx's own attempt, each on a real nginx (and php-fpm), and
// checks that the top cause says what a senior engineer would quote.
func TestEvidenceScenarios(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the scenarios run nginx workers and php-fpm as www-data: root is needed")
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")

	for _, tc := range []struct {
		scenario string
		want     checks.CauseID
		// quotes must each appear in the summary or the evidence.
		quotes func(l *lab.Lab) []string
		check  func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause)
	}{
		{"wrong-address-family", checks.CauseWrongAddress, func(l *lab.Lab) []string {
			port := strings.TrimPrefix(l.Backends[0], "localhost:")
			return []string{"[::1]:" + port + " refuses", "127.0.0.1:" + port + " answers", "connect() failed (111: Connection refused)"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			port := strings.TrimPrefix(l.Backends[0], "localhost:")
			if top.Facts.Alternative != "127.0.0.1:"+port {
				t.Errorf("alternative: got %q, want 127.0.0.1:%s", top.Facts.Alternative, port)
			}
			if top.Occurrences == 0 {
				t.Errorf("the log's refusals at [::1] are not counted in the cause")
			}
		}},
		{"invalid-response-uwsgi", checks.CauseInvalidResponse, func(l *lab.Lab) []string {
			return []string{"uwsgi (pid", "speaks uwsgi", "nginx speaks HTTP", "uwsgi_pass " + l.Backends[0], "upstream prematurely closed connection"}
		}, notAlsoClosed},
		{"invalid-response-uwsgi-http", checks.CauseInvalidResponse, func(l *lab.Lab) []string {
			return []string{"uwsgi (pid", "speaks HTTP", "nginx speaks uwsgi", "proxy_pass http://" + l.Backends[0], "upstream prematurely closed connection"}
		}, notAlsoClosed},
		{"nginx-resources-nofile", checks.CauseNginxResources, func(l *lab.Lab) []string {
			return []string{"open files, limit 32", "worker_rlimit_nofile: 32 (" + l.Config + ":", "worker_connections 768", "above the limit 32", "(24: Too many open files)"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			if top.Facts.Setting != "worker_rlimit_nofile" || top.Occurrences == 0 {
				t.Errorf("setting %q, %d occurrences: want worker_rlimit_nofile from the log's lines", top.Facts.Setting, top.Occurrences)
			}
			for _, c := range o.Causes {
				if c.ID == checks.CauseBackendDown || c.ID == checks.CauseUpstreamClosed {
					t.Errorf("nginx's own limit must not read as the backend's %s: %s", c.ID, c.Summary)
				}
			}
		}},
		{"nginx-resources-connections", checks.CauseNginxResources, func(l *lab.Lab) []string {
			return []string{"16 worker_connections are not enough", "worker_connections 16", "open files, limit"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			if top.Facts.Setting != "worker_connections" || top.Occurrences == 0 {
				t.Errorf("setting %q, %d occurrences: want worker_connections from the log's lines", top.Facts.Setting, top.Occurrences)
			}
			if o.Verdict.Status != "problem" {
				t.Errorf("verdict %+v: clients' connections were closed in the window, yet not a problem", o.Verdict)
			}
		}},
		{"invalid-response-fastcgi", checks.CauseInvalidResponse, func(l *lab.Lab) []string {
			return []string{"php-fpm", "speaks FastCGI", "nginx speaks HTTP", "fastcgi_pass " + l.Backends[0], "(104: Connection reset by peer)", "php-fpm pool [lab]"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			for _, c := range o.Causes {
				if c.ID == checks.CauseUpstreamReset || c.ID == checks.CauseUpstreamClosed {
					t.Errorf("the mismatch must not also read as %s: %s", c.ID, c.Summary)
				}
			}
		}},
		{"backend-overloaded-fpm", checks.CauseBackendOverloaded, func(l *lab.Lab) []string {
			return []string{"pool [lab]", "pm.max_children is 1", "php-fpm log: ", "server reached", "listen.backlog 1", "(11: Resource temporarily unavailable)"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			// The burst of 8 on one child with a queue of 1: nginx was
			// refused several times within one second.
			if top.Facts.PHPFPM == nil || top.Facts.PHPFPM.Pool.MaxChildren != 1 || top.Facts.PHPFPM.Master <= 0 || top.Facts.PHPFPM.PeakRefused < 2 {
				t.Errorf("the fix's facts: got %+v", top.Facts.PHPFPM)
			}
		}},
		{"nginx-file-access", checks.CauseNginxFileAccess, func(l *lab.Lab) []string {
			private := filepath.Join(l.Dir, "private")
			return []string{private + " root:root 0700", "www-data", "chmod o+x " + private, "proxy_temp_path " + private + "/proxy", "failed (13: Permission denied) while reading upstream"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			if top.Target != filepath.Join(l.Dir, "private") {
				t.Errorf("target: got %s, want the directory that blocks the workers", top.Target)
			}
			for _, c := range o.Causes {
				if c.ID == checks.CauseSELinuxDenied || c.Target == l.Backends[0] {
					t.Errorf("nginx's own file is blamed on the backend: %s %s", c.ID, c.Target)
				}
			}
		}},
		{"wrong-address-moved", checks.CauseWrongAddress, func(l *lab.Lab) []string {
			return []string{"php", "application server no config references", "asked GET " + l.Path + " Host: lab.test: http 200"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			moved := l.Listeners[len(l.Listeners)-1]
			if top.Facts.Alternative != moved {
				t.Errorf("alternative: got %q, want the moved backend %s, not the 404 one port above", top.Facts.Alternative, moved)
			}
		}},
		{"backend-down-beside-unrelated", checks.CauseBackendDown, func(l *lab.Lab) []string {
			return []string{"connect() failed (111: Connection refused)"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			for _, c := range o.Causes {
				if c.ID == checks.CauseWrongAddress {
					t.Errorf("a dead backend pointed at an unrelated listener: %s", c.Summary)
				}
			}
		}},
		{"blind-error-log", checks.CauseBackendDown, func(l *lab.Lab) []string {
			return []string{"requests in the last 15m got 502/503/504", "error log at crit shows none"}
		}, func(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
			if !strings.Contains(strings.Join(o.Snapshot.Notes, "\n"), "error_log "+l.ErrorLog+" crit") {
				t.Errorf("the blind error log is not reported: notes %q", o.Snapshot.Notes)
			}
		}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			sc, ok := lab.Find(tc.scenario)
			if !ok {
				t.Fatalf("no scenario %s", tc.scenario)
			}
			if sc.Hosts != "" && !labtest.PrivateHosts(t, sc.Hosts) {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			l, err := lab.Start(ctx, sc)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer l.Close()
			l.Trigger(ctx, 4)
			if l.PHPFPM != "" && sc.Concurrency > 0 {
				if !l.PoolAtLimit(ctx) {
					t.Fatalf("php-fpm never logged that pool [lab] reached pm.max_children")
				}
			}
			o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx, Timeout: 2 * time.Second}, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if len(o.Causes) == 0 || o.Causes[0].ID != tc.want {
				t.Fatalf("top cause: got %s, want %s\n%s\nsteps:\n%s", firstID(o.Causes), tc.want, describe(o.Causes), steps(o))
			}
			top := o.Causes[0]
			text := top.Summary + "\n" + strings.Join(top.Evidence, "\n")
			for _, q := range tc.quotes(l) {
				if !strings.Contains(text, q) {
					t.Errorf("%s does not quote %q:\n%s", top.ID, q, text)
				}
			}
			tc.check(t, l, o, top)
			if t.Failed() {
				t.Logf("all causes:\n%s\nnotes: %q", describe(o.Causes), o.Snapshot.Notes)
			}
		})
	}
}

// notAlsoClosed: the connection uwsgi closes is the mismatch's, not a
// crash of the backend's.
func notAlsoClosed(t *testing.T, l *lab.Lab, o *checks.Outcome, top checks.Cause) {
	t.Helper()
	for _, c := range o.Causes {
		if c.ID == checks.CauseUpstreamClosed || c.ID == checks.CauseUpstreamReset {
			t.Errorf("the mismatch must not also read as %s: %s", c.ID, c.Summary)
		}
	}
	if top.Occurrences == 0 {
		t.Errorf("the log's closed connections are not counted in the cause")
	}
}

func firstID(cs []checks.Cause) string {
	if len(cs) == 0 {
		return "none"
	}
	return string(cs[0].ID)
}
