package tui

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ngxdoctor/ngxdoctor"
	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/checks/host"
	"github.com/ngxdoctor/ngxdoctor/fixes"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// The fixtures are the product's own: the real ten steps (checks.Steps)
// run on the recorded incident the demo replays (a php-fpm socket closed
// to nginx's workers, recorded from a real nginx by the lab) and on the
// same recording after the fix. Recorded, because the TUI's tests must
// not need root or a running nginx; the real nginx is in cmd's e2e tests.

func testSteps() []checks.Step { return checks.Steps() }

const sock = "/run/php/php8.2-fpm.sock"

var (
	recOnce sync.Once
	rec     *host.Recording
)

func demoRecording() *host.Recording {
	recOnce.Do(func() {
		r, err := host.LoadRecording(ngxdoctor.DemoRecording)
		if err != nil {
			panic(err)
		}
		rec = r
	})
	return rec
}

// runRecorded diagnoses a recording as the demo does, with the clock of
// the recording so that the frames do not depend on today.
func runRecorded(sys host.System, opts checks.Options) *checks.Outcome {
	if opts.Since == 0 {
		opts.Since = checks.DefaultWindow
	}
	if opts.Timeout == 0 {
		opts.Timeout = checks.DefaultTimeout
	}
	o, err := checks.Run(context.Background(), sys, opts, nil)
	if err != nil {
		panic(err)
	}
	pinTimes(o, sys.Now())
	return o
}

// pinTimes makes a recorded outcome's times the recording's own.
func pinTimes(o *checks.Outcome, at time.Time) {
	o.Started, o.Duration = at, 180*time.Millisecond
	for i := range o.Steps {
		for j := range o.Steps[i].Checks {
			o.Steps[i].Checks[j].Duration = 0
		}
	}
}

// socketOutcome is the recorded incident: socket-permission on the php-fpm socket.
func socketOutcome() *checks.Outcome {
	return runRecorded(host.Replay(demoRecording()), checks.Options{})
}

// healthyOutcome is the same host after the socket fix.
func healthyOutcome() *checks.Outcome {
	after, _ := DemoPlayer(demoRecording())
	return runRecorded(after, checks.Options{NotBefore: demoRecording().Now.Add(5 * time.Second)})
}

// socketPlan is the real planner on the recorded outcome.
func socketPlan(o *checks.Outcome) [][]fixes.Fix { return fixes.Plan(o) }

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

// recordedApply answers as the engine does for the socket fix: its log
// lines are the engine's own forms (fixes/apply.go, fixes/verify.go).
func recordedApply(_ context.Context, _ *checks.Outcome, f fixes.Fix, _ fixes.Options) (fixes.Applied, error) {
	return fixes.Applied{Fix: f, Verified: true, JournalID: "20261124-060135-socket-permission",
		Log: []string{"done: chown root:www-data " + sock, "done: chmod 0660 " + sock,
			"verify: GET /index.php on shop.example.com through nginx answers 200 (it answered 502 before the fix)", "verified"},
		Requests: []fixes.Request{{Text: "GET /index.php on shop.example.com", Before: "502", After: "200", OK: true}}}, nil
}

func testConfig(o *checks.Outcome) Config {
	return Config{
		NoColor:  true,
		Run:      fakeRun(o, nil),
		Plan:     socketPlan,
		Steps:    testSteps,
		Markdown: func(report.Input) []byte { return []byte("# report\n") },
		Apply:    recordedApply,
	}
}

var _ = testing.Short
