// Package fixes plans, applies, verifies, rolls back and journals the
// changes that cure a diagnosed cause. Safety lives in the engine, not in
// each fix: preview, confirm, back up, nginx -t, restore, journal.
package fixes

import (
	"context"
	"errors"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// Fix is one planned change, fully previewable before anything happens.
type Fix struct {
	// ID is stable for the same evidence and flags: "<cause>:<target>:<kind>",
	// e.g. "socket-permission:unix:/run/php/php8.2-fpm.sock:chmod".
	ID     string `json:"id"`
	Title  string `json:"title"`
	Cause  string `json:"cause"`
	Target string `json:"target"`
	// Commands are the argv of each command, run in order, never through a shell.
	Commands [][]string `json:"commands"`
	// Diff is the unified diff of every file change ("" when none).
	Diff string `json:"diff,omitempty"`
	// Undo says how to revert, in words and commands.
	Undo string `json:"undo"`
	// Transient: the change does not survive a restart of the backend; Durable names the fix ID that does.
	Transient bool   `json:"transient,omitempty"`
	Durable   string `json:"durable,omitempty"`
	// Warning is shown in the preview (security impact, side effects).
	Warning string `json:"warning,omitempty"`
}

// Plan returns the fixes for every cause of the outcome: Plan(o)[i] are
// the fixes of o.Causes[i] (empty when a cause has no automatic fix).
func Plan(o *checks.Outcome) [][]Fix { return nil }

// For returns the fixes for one cause.
func For(o *checks.Outcome, c checks.Cause) []Fix { return nil }

// Options for Apply.
type Options struct {
	// DryRun prints nothing and changes nothing: Apply returns the preview only.
	DryRun bool
	// Progress receives one line per action ("backed up ...", "nginx -t ok", "reloaded", "verified: 200").
	Progress func(string)
}

// Applied is the record of an applied fix (also what the journal keeps).
type Applied struct {
	Fix Fix `json:"fix"`
	// Verified: the failing request now succeeds, nginx still runs, no new errors.
	Verified bool `json:"verified"`
	// RolledBack: verification failed and the change was reverted.
	RolledBack bool     `json:"rolled_back"`
	Log        []string `json:"log"`
	JournalID  string   `json:"journal_id,omitempty"`
}

// ErrReadOnly is returned by Apply when fixes are not allowed.
var ErrReadOnly = errors.New("read-only: no fix is applied")

// Apply carries a fix out under the safety rules, verifies it and rolls
// it back when it does not help.
func Apply(ctx context.Context, o *checks.Outcome, f Fix, opts Options) (Applied, error) {
	return Applied{}, errors.New("not implemented yet")
}

// Undo reverts the last applied fix, or the one with the journal id given.
func Undo(ctx context.Context, id string) (Applied, error) {
	return Applied{}, errors.New("not implemented yet")
}
