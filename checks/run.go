package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks/host"
)

// Outcome is a finished diagnosis.
type Outcome struct {
	Snapshot *Snapshot
	Steps    []StepResult
	// Causes ranked, most likely first; empty when healthy.
	Causes   []Cause
	Verdict  Verdict
	Started  time.Time
	Duration time.Duration
}

// Event reports progress while Run works: a collection phase finished, or
// a step's result is known. The TUI turns each into a message.
type Event struct {
	// Phase is "discovered", "config", "logs", "probes", "host", "step".
	Phase string
	// Step is set for Phase "step".
	Step *StepResult
	// Done of Total targets are probed, for Phase "probe"; the last may
	// answer until Deadline.
	Done, Total int
	Deadline    time.Time
}

// ErrNoNginx means no nginx and no config were found: nothing to diagnose.
var ErrNoNginx = errors.New("no nginx found")

// Run collects the evidence, runs the ten steps concurrently (each check
// with a deadline) and diagnoses. progress may be nil; it is called from
// other goroutines. An error means the run could not diagnose at all
// (exit 2); everything else is in the Outcome.
func Run(ctx context.Context, sys host.System, opts Options, progress func(Event)) (*Outcome, error) {
	start := time.Now()
	s, err := Collect(ctx, sys, opts, progress)
	if err != nil {
		return nil, err
	}
	o := &Outcome{Snapshot: s, Started: start}
	o.Steps = RunSteps(ctx, s, Steps(), progress)
	o.Causes = Diagnose(s)
	o.Verdict = verdict(s, o.Causes)
	o.Duration = time.Since(start)
	return o, nil
}

// RunSteps runs every check of every step at once. A check gets the probe
// deadline plus a margin; one that overruns, errs or panics becomes an
// error result of its own and the others go on.
func RunSteps(ctx context.Context, s *Snapshot, steps []Step, progress func(Event)) []StepResult {
	out := make([]StepResult, len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := StepResult{Number: st.Number, Title: st.Title, Checks: make([]Result, len(st.Checks))}
			var cw sync.WaitGroup
			for j, c := range st.Checks {
				cw.Add(1)
				go func() {
					defer cw.Done()
					res.Checks[j] = runCheck(ctx, s, c, s.Options.timeout()+2*time.Second)
				}()
			}
			cw.Wait()
			res.Status = worst(res.Checks)
			out[i] = res
			if progress != nil {
				progress(Event{Phase: "step", Step: &res})
			}
		}()
	}
	wg.Wait()
	return out
}

func runCheck(ctx context.Context, s *Snapshot, c Check, limit time.Duration) Result {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	done := make(chan Result, 1)
	start := time.Now()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- Result{ID: c.ID, Status: Error, Summary: fmt.Sprintf("The check crashed: %v", r),
					Evidence: []string{string(debug.Stack())}}
			}
		}()
		done <- c.Run(ctx, s)
	}()
	var r Result
	select {
	case r = <-done:
	case <-ctx.Done():
		r = Result{Status: Error, Summary: fmt.Sprintf("The check did not finish within %s.", limit)}
	}
	r.ID, r.Duration = c.ID, time.Since(start)
	if r.Evidence == nil {
		r.Evidence = []string{}
	}
	if r.Manual == nil {
		r.Manual = []string{}
	}
	return r
}

// worst is a step's status: fail before error before warn before pass; a
// step whose checks were all skipped is skipped.
func worst(rs []Result) Status {
	rank := map[Status]int{Skip: 0, Pass: 1, Warn: 2, Error: 3, Fail: 4}
	st := Skip
	for _, r := range rs {
		if rank[r.Status] > rank[st] {
			st = r.Status
		}
	}
	return st
}

func verdict(s *Snapshot, cs []Cause) Verdict {
	if len(cs) > 0 {
		return Verdict{Status: "problem", Summary: cs[0].Summary}
	}
	// A backend's own 5xx reaches the client untouched and leaves no line in
	// nginx's error log: nginx is not at fault, but saying "healthy" would
	// send the engineer away from where the answer is.
	var own []string
	for _, t := range s.Targets {
		if h := s.Probes[t.Address].HTTP; h != nil && h.Status >= 500 {
			own = append(own, fmt.Sprintf("%s answers %d itself", t.Address, h.Status))
		}
	}
	if len(own) > 0 {
		return Verdict{Status: "ok", Summary: "No cause found in nginx or the path to its backends, but " + strings.Join(own, ", ") +
			": nginx passes that on as it is; the application's own logs say why."}
	}
	return Verdict{Status: "ok", Summary: "No cause found: nginx and its backends look healthy."}
}
