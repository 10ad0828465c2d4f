// Package checks holds the ten steps, the runner that collects evidence and
// runs them with deadlines, and the diagnosis that turns evidence into
// ranked causes. It never imports fixes.
package checks

import (
	"context"
	"time"
)

// Status of a check or a step. A step takes its worst check's status.
type Status string

const (
	Pass  Status = "pass"
	Warn  Status = "warn"
	Fail  Status = "fail"
	Skip  Status = "skip"
	Error Status = "error"
	// Running is only seen while a step is still being checked (the TUI's spinner).
	Running Status = "running"
)

// Result is what one check found.
type Result struct {
	ID      string `json:"id"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	// Evidence lines a person can verify: log lines, file:line config
	// excerpts, probe results, who listens where.
	Evidence []string `json:"evidence"`
	// Manual are the commands an engineer would type for the same answer,
	// built from this machine's facts (the config's -c, its error log).
	Manual []string `json:"manual"`
	// NotInstalled are the programs of Manual this host does not have.
	NotInstalled []string      `json:"not_installed,omitempty"`
	Duration     time.Duration `json:"-"`
}

// Check is one check of a step. Run reads the snapshot (and may probe
// further within ctx's deadline); a panic or an error becomes an Error result.
type Check struct {
	ID  string
	Run func(ctx context.Context, s *Snapshot) Result
}

// Step is one of the ten steps.
type Step struct {
	Number int
	Title  string
	// Why says in two or three sentences what the step checks and why it matters.
	Why string
	// Learn is the longer explanation for the training view.
	Learn  string
	Checks []Check
	// Needs is the evidence its checks read: the step runs as soon as
	// that is in. Zero waits for all of it.
	Needs Need
}

// StepResult is a step's outcome.
type StepResult struct {
	Number int      `json:"number"`
	Title  string   `json:"title"`
	Status Status   `json:"status"`
	Checks []Result `json:"checks"`
}

// Confidence of a cause.
type Confidence string

const (
	High   Confidence = "high"
	Medium Confidence = "medium"
	Low    Confidence = "low"
)

// Cause is one diagnosed cause, from the fixed vocabulary (CauseID; one
// rule per id, cause_*.go), for one target.
type Cause struct {
	ID          CauseID    `json:"id"`
	Target      string     `json:"target"`
	Summary     string     `json:"summary"`
	Confidence  Confidence `json:"confidence"`
	Occurrences int        `json:"occurrences"`
	Evidence    []string   `json:"evidence"`
	// Live: a probe now confirms it. Logged: error-log lines in the window show it.
	Live   bool `json:"-"`
	Logged bool `json:"-"`
	// FollowsFrom names the cause this one is a consequence of (no-live-upstreams).
	FollowsFrom CauseID `json:"-"`
	// Requests are the failing requests through nginx it explains now:
	// "GET /export on shop.test → 502".
	Requests []string `json:"requests,omitempty"`
	// Facts the fix planner needs.
	Facts Facts `json:"-"`

	// lastSeen is the newest log line of a cause only the log shows.
	lastSeen time.Time
}

// Verdict is the one-line answer.
type Verdict struct {
	Status  string `json:"status"` // "ok", "problem", or "incomplete" (interrupted, or a phase did not finish)
	Summary string `json:"summary"`
}
