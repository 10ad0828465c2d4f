package tui

import (
	"context"
	"fmt"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// testSteps stands in for checks.Steps until the engine provides it.
func testSteps() []checks.Step {
	titles := []string{
		"Backend listening",
		"Upstream configuration",
		"Network path",
		"Timeouts and buffers",
		"Backend health",
		"Unix socket permissions",
		"Upstream health",
		"Error log detail",
		"Test and verify",
		"Monitoring",
	}
	out := make([]checks.Step, len(titles))
	for i, t := range titles {
		out[i] = checks.Step{
			Number: i + 1,
			Title:  t,
			Why:    fmt.Sprintf("Why step %d matters: nginx answers 502 when this part of the path fails.", i+1),
			Learn:  fmt.Sprintf("Learning step %d: a longer explanation of how nginx reaches the backend here.", i+1),
		}
	}
	return out
}

func passStep(n int, title, summary string, evidence ...string) checks.StepResult {
	return checks.StepResult{Number: n, Title: title, Status: checks.Pass, Checks: []checks.Result{{
		ID: fmt.Sprintf("step%d", n), Status: checks.Pass, Summary: summary, Evidence: evidence,
	}}}
}

const sock = "/run/php/php8.2-fpm.sock"

// socketOutcome is the incident of the issue: php-fpm's socket is
// root:root 0600 and nginx's workers run as www-data.
func socketOutcome() *checks.Outcome {
	steps := []checks.StepResult{
		passStep(1, "Backend listening", "php-fpm8.2 listens on "+sock, "listener: unix "+sock+" php-fpm8.2 pid 901 user root"),
		passStep(2, "Upstream configuration", "nginx -t is ok; 1 target from 1 fastcgi_pass",
			"/etc/nginx/sites-enabled/app:14 fastcgi_pass unix:"+sock+";"),
		{Number: 3, Title: "Network path", Status: checks.Skip, Checks: []checks.Result{{
			ID: "firewall", Status: checks.Skip, Summary: "no TCP target: firewall and SELinux do not apply",
		}}},
		passStep(4, "Timeouts and buffers", "no timeout or header-size errors in the last 15 min"),
		passStep(5, "Backend health", "php8.2-fpm.service active, no restarts in the window"),
		{Number: 6, Title: "Unix socket permissions", Status: checks.Fail, Checks: []checks.Result{{
			ID: "socket-access", Status: checks.Fail,
			Summary: "www-data may not connect to " + sock,
			Evidence: []string{
				sock + ": srw------- root:root",
				"probe as www-data: permission denied",
				"error.log: connect() to unix:" + sock + " failed (13: Permission denied) while connecting to upstream (214 lines)",
			},
			Manual: []string{"ls -l " + sock, "sudo -u www-data test -w " + sock + " && echo ok"},
		}}},
		passStep(7, "Upstream health", "no \"no live upstreams\" lines in the window"),
		{Number: 8, Title: "Error log detail", Status: checks.Warn, Checks: []checks.Result{{
			ID: "log-level", Status: checks.Warn, Summary: "error_log level is warn: connect errors at error level are kept",
			Evidence: []string{"/etc/nginx/nginx.conf:9 error_log /var/log/nginx/error.log warn;"},
		}}},
		passStep(9, "Test and verify", "GET / through nginx answers 502 now"),
		passStep(10, "Monitoring", "stub_status is not enabled"),
	}
	return &checks.Outcome{
		Steps: steps,
		Causes: []checks.Cause{{
			ID:     "socket-permission",
			Target: "unix:" + sock,
			Summary: "php-fpm socket " + sock + " is root:root 0600; nginx workers run as www-data: " +
				"214 Permission denied in the last 15 min",
			Confidence:  checks.High,
			Occurrences: 214,
			Live:        true,
			Logged:      true,
			Evidence: []string{
				"error.log: connect() to unix:" + sock + " failed (13: Permission denied)",
				"probe as www-data: permission denied",
				"socket root:root 0600",
			},
			Facts: checks.Facts{Socket: sock, WorkerUser: "www-data", PassAt: "/etc/nginx/sites-enabled/app:14"},
		}},
		Verdict: checks.Verdict{Status: "problem", Summary: "php-fpm socket permission"},
	}
}

func socketPlan(o *checks.Outcome) [][]fixes.Fix {
	if len(o.Causes) == 0 {
		return nil
	}
	return [][]fixes.Fix{{
		{
			ID: "socket-permission:unix:" + sock + ":chmod", Title: "Let www-data use the php-fpm socket",
			Cause: "socket-permission", Target: "unix:" + sock,
			Commands:  [][]string{{"chgrp", "www-data", sock}, {"chmod", "0660", sock}},
			Undo:      "chgrp root " + sock + "; chmod 0600 " + sock,
			Transient: true, Durable: "socket-permission:unix:" + sock + ":pool",
		},
		{
			ID: "socket-permission:unix:" + sock + ":pool", Title: "Set listen.owner/group/mode in the php-fpm pool",
			Cause: "socket-permission", Target: "unix:" + sock,
			Commands: [][]string{{"systemctl", "reload", "php8.2-fpm"}},
			Diff: "--- a/etc/php/8.2/fpm/pool.d/www.conf\n+++ b/etc/php/8.2/fpm/pool.d/www.conf\n" +
				"@@ -41,3 +41,3 @@\n listen = " + sock + "\n-listen.mode = 0600\n+listen.mode = 0660\n listen.owner = www-data\n",
			Undo:    "ngxdoctor undo restores www.conf from its backup and reloads php-fpm",
			Warning: "php-fpm reloads: requests in flight finish first",
		},
	}}
}

func healthyOutcome() *checks.Outcome {
	o := socketOutcome()
	o.Causes = nil
	o.Steps[5] = passStep(6, "Unix socket permissions", "www-data may connect to "+sock)
	o.Steps[7] = passStep(8, "Error log detail", "error_log at error level")
	o.Steps[8] = passStep(9, "Test and verify", "GET / through nginx answers 200")
	o.Verdict = checks.Verdict{Status: "ok"}
	return o
}

// fakeRun returns an outcome at once, after reporting every step.
func fakeRun(o *checks.Outcome, err error) func(context.Context, host.System, checks.Options, func(checks.Event)) (*checks.Outcome, error) {
	return func(ctx context.Context, _ host.System, _ checks.Options, progress func(checks.Event)) (*checks.Outcome, error) {
		if progress != nil {
			progress(checks.Event{Phase: "discovered"})
			if o != nil {
				for i := range o.Steps {
					progress(checks.Event{Phase: "step", Step: &o.Steps[i]})
				}
			}
		}
		return o, err
	}
}

func testConfig(o *checks.Outcome) Config {
	return Config{
		NoColor:  true,
		Run:      fakeRun(o, nil),
		Plan:     socketPlan,
		Steps:    testSteps,
		Markdown: func(report.Input) []byte { return []byte("# report\n") },
		Apply: func(_ context.Context, _ *checks.Outcome, f fixes.Fix, _ fixes.Options) (fixes.Applied, error) {
			return fixes.Applied{Fix: f, Verified: true, Log: []string{"chgrp ok", "chmod ok", "verified: 200"}}, nil
		},
	}
}
