package checks

import (
	"context"
	"errors"
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
}

// ErrNoNginx means no nginx and no config were found: nothing to diagnose.
var ErrNoNginx = errors.New("no nginx found")

// Run collects the evidence, runs the ten steps concurrently (each check
// with a deadline) and diagnoses. progress may be nil; it is called from
// other goroutines. An error means the run could not diagnose at all
// (exit 2); everything else is in the Outcome.
func Run(ctx context.Context, sys host.System, opts Options, progress func(Event)) (*Outcome, error) {
	return nil, errors.New("not implemented yet")
}
