package checks_test

import (
	"context"
	"github.com/ngxdoctor/ngxdoctor/lab/labtest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/lab"
)

// TestScenarios starts a real nginx for each lab scenario, sends requests
// through it so the error log fills as in an incident, and asserts that the
// diagnosis names the scenario's cause first, for the right backend.
func TestScenarios(t *testing.T) {
	labtest.Need(t, os.Geteuid() == 0, "the scenarios run nginx workers as www-data, php-fpm and iptables: root is needed")
	_, err := os.Stat("/usr/sbin/nginx")
	labtest.Need(t, err == nil, "nginx is not installed (scripts/test.sh installs nginx-light)")

	// What a person should read first for each scenario; most are the
	// scenario's own cause.
	wantTop := map[string]string{
		"wrong-address-port":      "wrong-address",
		"no-live-upstreams":       "backend-down", // the group's failure follows from its servers'
		"invalid-response-header": "invalid-response",
		"reload-failed":           "config-invalid", // fix the file first; config-not-loaded follows from it
	}
	for _, sc := range lab.Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
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

			o, err := checks.Run(ctx, host.Live(), checks.Options{Config: l.Config, Nginx: l.Nginx, Timeout: 2 * time.Second}, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			symptomHolds(t, o)
			if sc.Name == "healthy" {
				if len(o.Causes) != 0 {
					t.Fatalf("healthy setup: got causes %s, want none (a false alarm)", describe(o.Causes))
				}
				if o.Verdict.Status != "ok" {
					t.Errorf("verdict: got %q, want ok", o.Verdict.Status)
				}
				return
			}
			want := sc.Cause
			if w, ok := wantTop[sc.Name]; ok {
				want = w
			}
			if len(o.Causes) == 0 {
				t.Fatalf("got no cause, want %s; steps:\n%s", want, steps(o))
			}
			top := o.Causes[0]
			if string(top.ID) != want {
				t.Fatalf("top cause: got %s, want %s\n%s\nsteps:\n%s", top.ID, want, describe(o.Causes), steps(o))
			}
			if len(l.Backends) > 0 && !strings.Contains(top.Target, strings.TrimPrefix(l.Backends[0], "unix:")) &&
				top.ID != "no-resolver" && top.ID != "dns-failure" && top.ID != "nginx-file-access" && top.ID != "nginx-resources" && top.ID != "config-invalid" && top.ID != "config-not-loaded" {
				t.Errorf("top cause target: got %s, want the backend %s", top.ID, l.Backends[0])
			}
			if !top.Live && !top.Logged {
				t.Errorf("top cause has neither live nor log evidence: %+v", top)
			}
			if sc.Name == "reload-failed" && !hasCause(o.Causes, "config-not-loaded") {
				t.Errorf("reload-failed: the failed reload is missing from %s", describe(o.Causes))
			}
			if sc.Name == "one-endpoint" && !strings.Contains(top.Summary, "GET /export fails, GET / works") {
				t.Errorf("one-endpoint: the summary does not say which request fails: %q", top.Summary)
			}
			if sc.Name == "no-live-upstreams" && !hasCause(o.Causes, "no-live-upstreams") {
				t.Errorf("no-live-upstreams: the group's failure is missing from %s", describe(o.Causes))
			}
			if o.Verdict.Status != "problem" || o.Verdict.Summary == "" {
				t.Errorf("verdict: got %+v, want a problem with a summary", o.Verdict)
			}
		})
	}
}

func hasCause(cs []checks.Cause, id string) bool {
	for _, c := range cs {
		if string(c.ID) == id {
			return true
		}
	}
	return false
}

func describe(cs []checks.Cause) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("  " + string(c.ID) + " " + c.Target + " [" + string(c.Confidence) + "] " + c.Summary + "\n")
		for _, e := range c.Evidence {
			b.WriteString("      " + e + "\n")
		}
	}
	return b.String()
}

func steps(o *checks.Outcome) string {
	var b strings.Builder
	for _, s := range o.Steps {
		for _, c := range s.Checks {
			b.WriteString("  " + string(c.Status) + " " + c.ID + ": " + c.Summary + "\n")
			for _, e := range c.Evidence {
				b.WriteString("      " + e + "\n")
			}
		}
	}
	for _, n := range o.Snapshot.Notes {
		b.WriteString("  note: " + n + "\n")
	}
	return b.String()
}

// symptomHolds is the property every scenario keeps: the verdict is "ok"
// only when every request through nginx answered without a 5xx, and every
// failing request is explained by a cause or named by the verdict.
func symptomHolds(t *testing.T, o *checks.Outcome) {
	t.Helper()
	if len(o.Snapshot.Replays) == 0 {
		t.Errorf("no request was made through nginx")
	}
	explained := map[string]bool{}
	for _, c := range o.Causes {
		for _, r := range c.Requests {
			explained[r] = true
		}
	}
	for _, r := range o.Snapshot.Replays {
		if !r.Failed() {
			continue
		}
		if o.Verdict.Status == "ok" {
			t.Errorf("verdict ok, but %s through nginx answered %s", r.Text(), r.Answer())
		}
		if !explained[r.Text()+" → "+r.Answer()] && !strings.Contains(o.Verdict.Summary, r.Text()) {
			t.Errorf("%s → %s is neither explained by a cause nor named by the verdict %q", r.Text(), r.Answer(), o.Verdict.Summary)
		}
	}
}
