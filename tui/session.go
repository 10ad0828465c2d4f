package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/report"
)

// recordVerdict keeps a finished diagnosis in the session: the first is
// the incident as found, a later one follows a fix or an r.
func (m *Model) recordVerdict(o *checks.Outcome, afterFix bool) {
	now := time.Now()
	if !m.discovered {
		m.discovered = true
		m.session.Add(o.Started, "discovered", report.ContextShort(o))
	}
	kind := "verdict"
	if m.session.Before != nil {
		kind = "rerun"
	}
	m.session.Add(now, kind, verdictWord(o))
	if m.session.Before == nil {
		m.session.Before, m.session.BeforeFixes = o, m.plans
	}
	if afterFix {
		if n := len(m.session.Actions); n > 0 && m.session.Actions[n-1].After == nil {
			m.session.Actions[n-1].After = o
		}
	}
}

// recordApplied puts a fix's result on the timeline.
func (m *Model) recordApplied(a report.Action) {
	switch {
	case a.Err != "":
		m.session.Add(a.At, "failed", a.Fix.Title+": "+a.Err)
		return
	case a.Applied.RolledBack:
		m.session.Add(a.At, "rolled-back", a.Fix.Title)
		return
	}
	m.session.Add(a.At, "applied", a.Fix.Title)
	if a.Applied.Verified {
		m.session.Add(a.At, "verified", strings.Join(a.Requests(), "; "))
	} else {
		m.session.Add(a.At, "unverified", "no request or probe confirmed it")
	}
	if u := a.UndoCommand(); u != "" {
		m.session.Add(a.At, "undo", u)
	}
}

// lastAction is the fix applied last in this session, with the verdict
// after it once the checks ran again.
func (m *Model) lastAction() (report.Action, bool) {
	if n := len(m.session.Actions); n > 0 {
		return m.session.Actions[n-1], true
	}
	return report.Action{}, false
}

// outcomeLines are what a fix did, as an on-call engineer needs it: the
// result, what changed (file:line, argv), the failing requests asked
// again and their answers now, the verdict after the checks ran again,
// the undo command with its journal id.
func outcomeLines(a report.Action, rerunning bool) []string {
	var head string
	switch {
	case a.Err != "":
		head = mark(checks.Error) + " fix failed: " + a.Fix.Title + ": " + a.Err
	case a.Applied.RolledBack:
		head = mark(checks.Fail) + " rolled back, it did not help: " + a.Fix.Title
	case a.Applied.Verified:
		head = mark(checks.Pass) + " applied and verified: " + a.Fix.Title
	default:
		head = mark(checks.Warn) + " applied, not verified: " + a.Fix.Title
	}
	out := []string{head}
	if ch := a.Changes(); len(ch) > 0 {
		out = append(out, "  changed: "+strings.Join(ch, " · "))
	}
	if reqs := a.Requests(); len(reqs) > 0 {
		label := "  asked again: "
		if a.Applied.Verified {
			label = "  verified: "
		}
		out = append(out, label+strings.Join(reqs, " · "))
	}
	switch {
	case a.After != nil:
		out = append(out, "  now: "+a.NewVerdict())
	case rerunning:
		out = append(out, "  now: running the checks again…")
	}
	if u := a.UndoCommand(); u != "" {
		out = append(out, "  undo: "+u)
	}
	return out
}

func verdictWord(o *checks.Outcome) string {
	if len(o.Causes) == 0 {
		return strings.TrimSuffix(o.Verdict.Summary, ".")
	}
	if len(o.Causes) == 1 {
		return string(o.Causes[0].ID) + " on " + o.Causes[0].Target
	}
	return fmt.Sprintf("%s on %s and %d more causes", o.Causes[0].ID, o.Causes[0].Target, len(o.Causes)-1)
}

// timelineContent is the session so far, for t.
func (m *Model) timelineContent(w int) string {
	s := m.styles
	b := &textBuilder{w: w}
	b.raw(s.Heading.Render("This session, from start to now"))
	b.blank()
	for _, l := range report.TimelineText(&m.session, nil) {
		b.add("", l, "                     ")
	}
	if len(m.session.Events) == 0 {
		b.raw(s.Muted.Render("Nothing yet."))
	}
	b.blank()
	b.add("", "e writes all of it as the report for the ticket: before, actions, after.", "", s.Muted)
	return b.String()
}
