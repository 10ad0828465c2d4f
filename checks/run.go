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
	"github.com/ngxdoctor/ngxdoctor/checks/logs"
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
	// Complete: the run was not interrupted and every collection phase
	// finished. An incomplete outcome never reports "ok": its verdict is
	// "incomplete" (or "problem" for causes found before a phase ran out),
	// check exits 2 and the prom output says ngxdoctor_check_complete 0.
	Complete bool
	// Unfinished says what did not finish, for the report and stderr.
	Unfinished []string
	// Interrupted: the context was cancelled (SIGTERM, Ctrl-C); what was
	// collected is partial and probes cut short prove nothing.
	Interrupted bool
}

// Event reports progress while Run works: a collection phase finished, or
// a step's result is known. The TUI turns each into a message.
type Event struct {
	// Phase is "discovered", "config", "logs", "replay", "probes", "host",
	// "step" (a step as soon as the evidence it reads is in, before the
	// rest is collected), or "probe" (the probes' count).
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

// ErrInterrupted means the run was cancelled before its evidence was
// collected: there is nothing to report, and certainly not "healthy".
var ErrInterrupted = errors.New("the check was interrupted before it completed")

// Run collects the evidence, runs the ten steps concurrently (each check
// with a deadline) and diagnoses. progress may be nil; it is called from
// other goroutines. An error means the run could not diagnose at all
// (exit 2); everything else is in the Outcome.
func Run(ctx context.Context, sys host.System, opts Options, progress func(Event)) (*Outcome, error) {
	start := time.Now()
	ms := newMilestones()
	var steps chan []StepResult
	s, err := collect(ctx, sys, opts, progress, ms, func(s *Snapshot) {
		// Each step starts once its evidence is in, while the rest is
		// still collected; the verdict waits for all of it below.
		steps = make(chan []StepResult, 1)
		go func() { steps <- runSteps(ctx, s, Steps(), progress, ms) }()
	})
	if err != nil {
		if ctx.Err() != nil {
			// Discovery cut short reads as "no nginx": say what happened.
			return nil, fmt.Errorf("%w (%v)", ErrInterrupted, context.Cause(ctx))
		}
		return nil, err
	}
	o := &Outcome{Snapshot: s, Started: start}
	o.Steps = <-steps
	o.Causes = Diagnose(s)
	judgeSteps(o.Steps, o.Causes)
	o.Verdict = verdict(s, o.Causes)
	o.Unfinished = append(o.Unfinished, s.Unfinished...)
	if ctx.Err() != nil {
		o.Interrupted = true
		o.Unfinished = append(o.Unfinished, fmt.Sprintf("interrupted (%v)", context.Cause(ctx)))
	}
	o.Complete = len(o.Unfinished) == 0
	if !o.Complete {
		o.Verdict = incompleteVerdict(o)
	}
	o.Duration = time.Since(start)
	return o, nil
}

// incompleteVerdict: a run that did not complete never says "ok". Causes
// found before a phase ran out stand (their evidence is in); after an
// interruption nothing does, since probes cut short look like failures.
func incompleteVerdict(o *Outcome) Verdict {
	why := strings.Join(o.Unfinished, "; ")
	if len(o.Causes) > 0 && !o.Interrupted {
		return Verdict{Status: "problem", Summary: o.Causes[0].Summary + " (The check did not complete: " + why + "; other causes may be missing.)"}
	}
	return Verdict{Status: "incomplete", Summary: "The check did not complete: " + why + ". No verdict: what was seen so far is below, not a diagnosis."}
}

// RunSteps runs every check of every step at once on a collected
// snapshot. A check gets the probe deadline plus a margin; one that
// overruns, errs or panics becomes an error result of its own and the
// others go on.
func RunSteps(ctx context.Context, s *Snapshot, steps []Step, progress func(Event)) []StepResult {
	return runSteps(ctx, s, steps, progress, nil)
}

// runSteps starts each step once the parts of the evidence it needs are
// in ms (nil: all are) and reports it as soon as it is done.
func runSteps(ctx context.Context, s *Snapshot, steps []Step, progress func(Event), ms *milestones) []StepResult {
	out := make([]StepResult, len(steps))
	var wg sync.WaitGroup
	for i, st := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			needs := st.Needs
			if needs == 0 {
				needs = NeedAll
			}
			ms.wait(needs)
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

func runCheck(parent context.Context, s *Snapshot, c Check, limit time.Duration) Result {
	ctx, cancel := context.WithTimeout(parent, limit)
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
		if parent.Err() != nil {
			r.Summary = "Interrupted before this check finished."
		}
	}
	r.ID, r.Duration = c.ID, time.Since(start)
	if r.Evidence == nil {
		r.Evidence = []string{}
	}
	if r.Manual == nil {
		r.Manual = []string{}
	}
	r.NotInstalled = s.notInstalled(r.Manual)
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

// judgeSteps makes each step agree with the causes of its part: no step
// is green while a cause it explains exists.
func judgeSteps(steps []StepResult, cs []Cause) {
	for i := range steps {
		st := &steps[i]
		var found []string
		for _, c := range cs {
			if StepOf(c.ID) == st.Number {
				found = append(found, fmt.Sprintf("%s on %s", c.ID, c.Target))
			}
		}
		if len(found) == 0 || st.Status == Fail || st.Status == Error {
			continue
		}
		st.Checks = append(st.Checks, Result{ID: "diagnosis", Status: Fail,
			Summary:  "The diagnosis found " + strings.Join(found, ", ") + " here.",
			Evidence: []string{}, Manual: []string{}})
		st.Status = Fail
	}
}

// verdict is anchored to the symptom: a failing request through nginx
// makes it a problem whether or not a cause explains it, and what none
// explains it says.
func verdict(s *Snapshot, cs []Cause) Verdict {
	unexplained := unexplainedRequests(s, cs)
	if len(cs) > 0 {
		v := Verdict{Status: "problem", Summary: cs[0].Summary}
		if len(unexplained) > 0 {
			v.Summary = strings.TrimSuffix(v.Summary, ".") + ". Not explained by it: " + unexplainedText(s, unexplained) + "."
		}
		return v
	}
	if len(unexplained) > 0 {
		return Verdict{Status: "problem", Summary: unexplainedText(s, unexplained) + "; no cause found: " + seenText(unexplained[0]) + "."}
	}
	n := 0
	for _, r := range s.Replays {
		if r.Works() {
			n++
		}
	}
	if n > 0 {
		return Verdict{Status: "ok", Summary: fmt.Sprintf("No cause found: nginx and its backends look healthy, and %s through nginx without an error.", count(n, "request answers", "requests answer"))}
	}
	return Verdict{Status: "ok", Summary: "No cause found: nginx and its backends look healthy."}
}

// unexplainedRequests are the failing requests through nginx no cause explains.
func unexplainedRequests(s *Snapshot, cs []Cause) []Replay {
	explained := map[string]bool{}
	for _, c := range cs {
		for _, r := range c.Requests {
			explained[r] = true
		}
	}
	var out []Replay
	for _, r := range s.Replays {
		if r.Failed() && !explained[r.Text()+" → "+r.Answer()] {
			out = append(out, r)
		}
	}
	return out
}

// unexplainedText is "nginx answers 502 for GET /export on shop.test".
func unexplainedText(s *Snapshot, rs []Replay) string {
	var parts []string
	for _, r := range firstReplays(rs, 3) {
		if r.Error != "" {
			parts = append(parts, fmt.Sprintf("nginx gives no valid answer for %s (%s)", r.Text(), r.Error))
		} else {
			parts = append(parts, fmt.Sprintf("nginx answers %d for %s", r.Status, r.Text()))
		}
	}
	if len(rs) > 3 {
		parts = append(parts, fmt.Sprintf("%d more", len(rs)-3))
	}
	return strings.Join(parts, "; ")
}

// seenText says what was seen of a request nothing explains.
func seenText(r Replay) string {
	var seen []string
	for _, e := range firstEntries(r.Lines, 2) {
		seen = append(seen, "nginx logged \""+e.Message+"\"")
	}
	if len(r.Lines) == 0 {
		seen = append(seen, "nginx logged nothing for it")
	}
	for addr, st := range r.Direct {
		seen = append(seen, fmt.Sprintf("the backend %s answers %d asked directly", addr, st))
	}
	if r.Location != "" {
		seen = append(seen, "its location is "+r.Location)
	}
	return strings.Join(seen, ", ")
}

func firstReplays(rs []Replay, n int) []Replay {
	if len(rs) > n {
		return rs[:n]
	}
	return rs
}

func firstEntries(es []logs.Entry, n int) []logs.Entry {
	if len(es) > n {
		return es[:n]
	}
	return es
}
