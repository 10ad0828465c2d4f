// Package fixes plans, applies, verifies, rolls back and journals the
// changes that cure a diagnosed cause. Safety lives in the engine, not in
// each fix: preview, confirm, back up, nginx -t, restore, journal.
//
// The fixes, by the kind that ends their ID:
//
//	reload          any cause, when a valid config changed after the master started (reload.go)
//	restart         backend-down, upstream-closed, socket-missing: systemctl restart UNIT (service.go)
//	chmod, pool     socket-permission: the socket's group and mode now (transient), and
//	                the php-fpm pool's listen.owner/group/mode (durable) (socket.go)
//	dir             socket-permission with blocked_dir: g+x or o+x on the directory (socket.go)
//	setsebool,
//	semanage-port   selinux-denied (selinux.go)
//	address         wrong-address: the pass or upstream server line (address.go)
//	timeout         upstream-timeout: *_read_timeout in the location (timeout.go)
//	buffers         header-too-big: *_buffer_size and the buffers checked against it (buffers.go)
//	resolver        no-resolver (resolver.go)
//	http, https,
//	grpcs, sni      tls-handshake: the pass's scheme, or *_ssl_server_name on (tls.go)
//	firewall-TOOL-N firewall-blocked: delete the rule; undo inserts it again (firewall.go)
//	max-children    backend-overloaded with php-fpm's "reached pm.max_children": the pool's
//	                limit, php-fpm -t, a reload of the master that read it (maxchildren.go)
//	dir, chown      nginx-file-access: search on the directory that blocks the workers,
//	                or the directory itself when nginx creates files there (fileaccess.go)
//
// Advice (not cures): debug-log (upstream log_format, access_log and
// stub_status in a new file, debuglog.go) and monitor (a timer or cron
// entry writing Prom's format for node_exporter, monitor.go).
package fixes

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	// Commands are the argv of each command, run in order, never through a
	// shell. Changes made in-process (a socket's chown/chmod, a signal to a
	// master) are shown as the argv a person would type for the same thing.
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
	// NotOffered says why this advice cannot be applied here (the
	// monitoring job's binary is in a directory a non-root user may
	// write); such a fix has no commands and Apply refuses it.
	NotOffered string `json:"not_offered,omitempty"`
}

// Plan returns the fixes for every cause of the outcome: Plan(o)[i] are
// the fixes of o.Causes[i] (empty when a cause has no automatic fix).
func Plan(o *checks.Outcome) [][]Fix { return Default().Plan(o) }

// For returns the fixes for one cause.
func For(o *checks.Outcome, c checks.Cause) []Fix { return Default().For(o, c) }

// Advice returns the fixes that are not cures but help the next incident:
// upstream logging with stub_status (step 8) and monitoring (step 10).
func Advice(o *checks.Outcome) []Fix { return Default().Advice(o) }

// Plan is the package-level Plan on this engine.
func (e *Engine) Plan(o *checks.Outcome) [][]Fix {
	if o == nil {
		return nil
	}
	out := make([][]Fix, len(o.Causes))
	for i, c := range o.Causes {
		out[i] = e.For(o, c)
	}
	return out
}

// For is the package-level For on this engine.
func (e *Engine) For(o *checks.Outcome, c checks.Cause) []Fix {
	return fixesOf(e.plansFor(o, c))
}

// Advice is the package-level Advice on this engine.
func (e *Engine) Advice(o *checks.Outcome) []Fix { return fixesOf(e.advice(o)) }

func fixesOf(ps []plan) []Fix {
	var out []Fix
	for _, p := range ps {
		out = append(out, p.Fix)
	}
	return out
}

// plansFor asks every fix kind whether it applies to the cause.
func (e *Engine) plansFor(o *checks.Outcome, c checks.Cause) []plan {
	var out []plan
	for _, build := range []func(*Engine, *checks.Outcome, checks.Cause) []plan{
		planService, planSocket, planSELinux, planAddress, planTimeout,
		planBuffers, planResolver, planTLS, planFirewall, planReload,
		planMaxChildren, planFileAccess, planNofile, planWorkerConns,
	} {
		for _, p := range build(e, o, c) {
			p.cause = c
			p.Cause, p.Target = string(c.ID), c.Target
			p.finish(o)
			out = append(out, p)
		}
	}
	// A durable fix is named by its bound ID too.
	full := map[string]string{}
	for _, p := range out {
		full[baseID(p.ID)] = p.ID
	}
	for i := range out {
		if d, ok := full[baseID(out[i].Durable)]; ok {
			out[i].Durable = d
		}
	}
	return out
}

// ErrNotBound: the fix ID names a plan made from other evidence or other
// file contents than the plan made now.
var ErrNotBound = errors.New("the fix is not the one previewed")

// Find returns the fix with the ID given, planned afresh from o. An ID
// with a digest must match it: when the evidence or the files differ from
// those it was planned from, Find says what changed and returns
// ErrNotBound. An ID without one (typed by hand) is found by name alone;
// bound is then false.
func Find(o *checks.Outcome, id string) (f Fix, bound bool, err error) { return Default().Find(o, id) }

// Find is the package-level Find on this engine.
func (e *Engine) Find(o *checks.Outcome, id string) (Fix, bool, error) {
	base := baseID(id)
	var all []plan
	if o != nil {
		for _, c := range o.Causes {
			all = append(all, e.plansFor(o, c)...)
		}
	}
	all = append(all, e.advice(o)...)
	var offered []string
	for _, p := range all {
		offered = append(offered, "  "+p.ID+"  ("+p.Title+")")
		if baseID(p.ID) != base {
			continue
		}
		if p.ID == id {
			return p.Fix, true, nil
		}
		if base == id {
			return p.Fix, false, nil
		}
		return p.Fix, false, fmt.Errorf("fix %s: %w: %s", base, ErrNotBound, whatChanged(id, p))
	}
	if len(offered) == 0 {
		offered = []string{"  none"}
	}
	return Fix{}, false, fmt.Errorf("no fix %q in the current diagnosis; the fixes offered now are:\n%s", id, strings.Join(offered, "\n"))
}

// whatChanged compares the two halves of the digests.
func whatChanged(id string, p plan) string {
	was, now := id[len(id)-digestLen:], p.ID[len(p.ID)-digestLen:]
	var why []string
	if was[digestLen/2:] != now[digestLen/2:] {
		switch len(p.files) {
		case 0:
			why = append(why, "the files it edits changed since the check")
		case 1:
			why = append(why, p.files[0]+" changed since the check")
		default:
			why = append(why, "one of "+strings.Join(p.files, ", ")+" changed since the check")
		}
	}
	if was[:digestLen/2] != now[:digestLen/2] {
		why = append(why, "the evidence changed since the check, and the fix planned now is: "+p.Title)
	}
	return strings.Join(why, "; ") + "; nothing was changed. Run the check again, read the new preview, and use the ID it gives (" + p.ID + ")"
}

// find plans again from the same evidence and picks the fix by ID, so an ID
// from a report stays valid for a later "fix ID" with the same flags.
func (e *Engine) find(o *checks.Outcome, id string) (plan, bool) {
	if o != nil {
		for _, c := range o.Causes {
			for _, p := range e.plansFor(o, c) {
				if p.ID == id {
					return p, true
				}
			}
		}
	}
	for _, p := range e.advice(o) {
		if p.ID == id {
			return p, true
		}
	}
	return plan{}, false
}

func fixID(cause checks.CauseID, target, kind string) string {
	return string(cause) + ":" + target + ":" + kind
}

// digestLen is the length of the digest a fix ID ends with ("@" and hex).
const digestLen = 16

// baseID is a fix ID without its digest.
func baseID(id string) string {
	if i := strings.LastIndexByte(id, '@'); i >= 0 && len(id)-i-1 == digestLen && isHex(id[i+1:]) {
		return id[:i]
	}
	return id
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// Options for Apply.
type Options struct {
	// DryRun prints nothing and changes nothing: Apply returns the preview only.
	DryRun bool
	// ReadOnly refuses every change (--read-only, the demo): Apply returns ErrReadOnly.
	ReadOnly bool
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
	// Requests are the requests through nginx that failed before the fix
	// (saved with the outcome), asked again after it: the fix is verified
	// only when every one succeeds.
	Requests []Request `json:"requests,omitempty"`
}

// Request is one failing request through nginx replayed after a fix.
type Request struct {
	// Text is "GET /export on shop.test".
	Text string `json:"request"`
	// Before and After are the answers ("502", or the error).
	Before string `json:"before"`
	After  string `json:"after"`
	OK     bool   `json:"ok"`
}

// ErrReadOnly is returned by Apply when fixes are not allowed.
var ErrReadOnly = errors.New("read-only: no fix is applied")

// Apply carries a fix out under the safety rules, verifies it and rolls
// it back when it does not help.
func Apply(ctx context.Context, o *checks.Outcome, f Fix, opts Options) (Applied, error) {
	return Default().Apply(ctx, o, f, opts)
}

// Undo reverts the last applied fix, or the one with the journal id given.
func Undo(ctx context.Context, id string) (Applied, error) {
	return Default().Undo(ctx, id)
}
