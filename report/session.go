package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// DemoNote heads every report of the demo: its evidence is a recording.
const DemoNote = "DEMO: a recorded incident replayed by `ngxdoctor demo`; nothing on this machine was examined or changed."

// Session is what the wizard saw and did from start to quit: the incident
// as first found, each fix with its result, and the verdicts after.
type Session struct {
	Demo bool
	// Tool names the program and its version ("ngxdoctor 0.1.0").
	Tool    string
	Started time.Time
	// Before is the first finished diagnosis (the incident as found).
	Before      *checks.Outcome
	BeforeFixes [][]fixes.Fix
	Actions     []Action
	Events      []Event
}

// Event is one line of the timeline.
type Event struct {
	At   time.Time
	Kind string // discovered, verdict, preview, applied, verified, rolled-back, failed, rerun, report
	Text string
}

// Action is one fix applied from the wizard, and what followed.
type Action struct {
	At      time.Time
	Cause   checks.Cause
	Fix     fixes.Fix
	Applied fixes.Applied
	Err     string
	// After is the diagnosis run again after the fix; nil until it finished.
	After *checks.Outcome
}

// Add appends an event to the timeline.
func (s *Session) Add(at time.Time, kind, text string) {
	s.Events = append(s.Events, Event{At: at, Kind: kind, Text: text})
}

// Result says in a few words what a fix did.
func (a Action) Result() string {
	switch {
	case a.Err != "":
		return "failed: " + a.Err
	case a.Applied.RolledBack:
		return "did not help, rolled back"
	case a.Applied.Verified:
		return "applied and verified"
	default:
		return "applied, not verified"
	}
}

// Verification is the lines of the fix's log that say how it was judged:
// the replayed requests through nginx and their statuses.
func (a Action) Verification() []string {
	var out []string
	for _, l := range a.Applied.Log {
		if strings.HasPrefix(l, "verif") || strings.HasPrefix(l, "not verified") {
			out = append(out, l)
		}
	}
	return out
}

// Changes says what the fix changed, the way an on-call engineer checks
// it: each file edited at the line of its first change, each command run.
// A fix rolled back or failed before its change says so.
func (a Action) Changes() []string {
	switch {
	case a.Applied.RolledBack:
		return []string{"nothing stays changed: the fix was rolled back"}
	case a.Err != "" && a.Applied.JournalID == "":
		return []string{"nothing was changed"}
	}
	out := editedLines(a.Fix.Diff)
	ran := false
	for _, l := range a.Applied.Log {
		switch {
		case strings.HasPrefix(l, "done: "):
			out = append(out, "ran "+strings.TrimPrefix(l, "done: "))
			ran = true
		case strings.HasPrefix(l, "ran "):
			out = append(out, l)
			ran = true
		}
	}
	if !ran && len(a.Applied.Log) == 0 {
		// No log (a fix recorded without one): what it was to run.
		for _, argv := range a.Fix.Commands {
			out = append(out, "ran "+Argv(argv))
		}
	}
	return out
}

// editedLines are "edited FILE:LINE", one per file of a unified diff, at
// the first line the new file differs.
func editedLines(diff string) []string {
	var out []string
	file, line, found := "", 0, false
	for _, l := range strings.Split(diff, "\n") {
		switch {
		case strings.HasPrefix(l, "+++ "):
			file, found = strings.TrimPrefix(strings.TrimPrefix(l, "+++ "), "b/"), false
			if i := strings.IndexByte(file, '\t'); i >= 0 {
				file = file[:i]
			}
		case strings.HasPrefix(l, "--- "):
		case strings.HasPrefix(l, "@@ "):
			// @@ -a,b +c,d @@: the new side starts at line c.
			line = 0
			if f := strings.Fields(l); len(f) >= 3 {
				n := strings.SplitN(strings.TrimPrefix(f[2], "+"), ",", 2)[0]
				fmt.Sscan(n, &line)
			}
		case found || file == "":
		case strings.HasPrefix(l, "+"), strings.HasPrefix(l, "-"):
			out = append(out, fmt.Sprintf("edited %s:%d", file, max(line, 1)))
			found = true
		case strings.HasPrefix(l, " "):
			line++
		}
	}
	return out
}

// Requests are the failing requests through nginx asked again after the
// fix, with the answer before and now: "GET /index.php on shop.test: 502 → 200".
// Without them, the lines of the fix's log that say how it was verified.
func (a Action) Requests() []string {
	var out []string
	for _, r := range a.Applied.Requests {
		out = append(out, fmt.Sprintf("%s: %s → %s", r.Text, r.Before, r.After))
	}
	if len(out) > 0 {
		return out
	}
	for _, l := range a.Verification() {
		if l = strings.TrimPrefix(l, "verify: "); l != "verified" {
			out = append(out, l)
		}
	}
	return out
}

// NewVerdict is the diagnosis run again after the fix, in a few words
// ("" until it finished).
func (a Action) NewVerdict() string {
	o := a.After
	if o == nil {
		return ""
	}
	switch {
	case len(o.Causes) == 0:
		return strings.TrimSuffix(o.Verdict.Summary, ".")
	case len(o.Causes) == 1:
		return fmt.Sprintf("still a problem: %s on %s", o.Causes[0].ID, o.Causes[0].Target)
	}
	return fmt.Sprintf("still a problem: %s on %s and %d more causes", o.Causes[0].ID, o.Causes[0].Target, len(o.Causes)-1)
}

// UndoCommand is what reverts the fix after the program has exited.
func (a Action) UndoCommand() string {
	if a.Applied.JournalID == "" {
		return ""
	}
	return "ngxdoctor undo " + a.Applied.JournalID
}

// FailingRequests are the requests through nginx that step 9 replayed or
// made, as its evidence says.
func FailingRequests(o *checks.Outcome) []string {
	var out []string
	for _, sr := range o.Steps {
		if sr.Number != 9 {
			continue
		}
		for _, c := range sr.Checks {
			out = append(out, c.Summary)
			out = append(out, c.Evidence...)
		}
	}
	return out
}

// incident writes the before / actions / after part of the Markdown report.
func incident(p func(string, ...any), s *Session, now *checks.Outcome) {
	zone := func(t time.Time) string { return t.UTC().Format("15:04:05 MST") }
	if b := s.Before; b != nil {
		p("## Before (%s)", zone(b.Started.Add(b.Duration)))
		p("")
		p("**Verdict:** %s", b.Verdict.Summary)
		for gi, g := range Groups(b) {
			p("")
			p("### %s", g.Headline(b))
			for k, i := range g.Causes {
				if k == GroupShown {
					p("")
					p("and %d more like this: %s", len(g.Causes)-k, targetList(b, g.Causes[k:]))
					break
				}
				c := b.Causes[i]
				p("")
				p("- `%s` on `%s`: %s (%s confidence, %d error-log lines)", c.ID, c.Target, c.Summary, c.Confidence, c.Occurrences)
				if len(c.Evidence) > 0 {
					p("")
					p("  ```")
					for _, e := range c.Evidence {
						p("  %s", e)
					}
					p("  ```")
				}
			}
			_ = gi
		}
		if reqs := FailingRequests(b); len(reqs) > 0 {
			p("")
			p("**Requests through nginx:**")
			p("")
			p("```")
			for _, r := range reqs {
				p("%s", r)
			}
			p("```")
		}
		p("")
	}
	if len(s.Actions) > 0 {
		p("## Actions")
		for i, a := range s.Actions {
			p("")
			p("### %d. %s (%s)", i+1, a.Fix.Title, zone(a.At))
			p("")
			p("- **Fix:** `%s` for `%s` on `%s`", a.Fix.ID, a.Cause.ID, a.Cause.Target)
			p("- **Result:** %s", a.Result())
			for _, c := range a.Changes() {
				p("- **Changed:** %s", codeSpan(c))
			}
			for _, r := range a.Requests() {
				p("- **Verified by:** %s", r)
			}
			if v := a.NewVerdict(); v != "" {
				p("- **Now:** %s", v)
			}
			if a.Applied.JournalID != "" {
				p("- **Journal id:** `%s`", a.Applied.JournalID)
				p("- **Undo:** `%s`", a.UndoCommand())
			}
			if a.Fix.Undo != "" {
				p("- **Undo by hand:** %s", a.Fix.Undo)
			}
			if len(a.Fix.Commands) > 0 {
				p("")
				p("Commands, run as argv without a shell:")
				p("")
				p("```sh")
				for _, argv := range a.Fix.Commands {
					p("%s", Argv(argv))
				}
				p("```")
			}
			if a.Fix.Diff != "" {
				p("")
				p("```diff")
				p("%s", strings.TrimRight(a.Fix.Diff, "\n"))
				p("```")
			}
			if len(a.Applied.Log) > 0 {
				p("")
				p("What it did:")
				p("")
				p("```")
				for _, l := range a.Applied.Log {
					p("%s", l)
				}
				p("```")
			}
		}
		p("")
		p("## After")
		for i, a := range s.Actions {
			p("")
			p("After fix %d (`%s`): %s.", i+1, a.Fix.ID, a.Result())
			if len(a.Applied.Requests) > 0 {
				p("")
				p("| request through nginx | before | after |")
				p("|---|---|---|")
				for _, r := range a.Applied.Requests {
					p("| %s | %s | %s |", strings.ReplaceAll(r.Text, "|", `\|`), r.Before, r.After)
				}
			}
			if v := a.Verification(); len(v) > 0 {
				p("")
				p("```")
				for _, l := range v {
					p("%s", l)
				}
				p("```")
			}
			if a.After != nil {
				p("")
				p("Checks run again at %s: **%s** %s", zone(a.After.Started.Add(a.After.Duration)), statusWord(a.After), a.After.Verdict.Summary)
			}
		}
		p("")
	}
	if len(s.Events) > 0 {
		p("## Timeline")
		p("")
		p("| time (UTC) | event | what |")
		p("|---|---|---|")
		for _, e := range s.Events {
			p("| %s | %s | %s |", e.At.UTC().Format("15:04:05"), e.Kind, strings.ReplaceAll(e.Text, "|", `\|`))
		}
		p("")
	}
	_ = now
}

// codeSpan writes "edited FILE:LINE" or "ran ARGV" with its object as code.
func codeSpan(c string) string {
	for _, verb := range []string{"edited ", "ran "} {
		if strings.HasPrefix(c, verb) {
			return verb + "`" + strings.TrimPrefix(c, verb) + "`"
		}
	}
	return c
}

func statusWord(o *checks.Outcome) string {
	if o.Verdict.Status == "ok" {
		return "OK."
	}
	return "Problem."
}

func targetList(o *checks.Outcome, idx []int) string {
	q := make([]string, len(idx))
	for i, k := range idx {
		q[i] = "`" + o.Causes[k].Target + "`"
	}
	return strings.Join(q, ", ")
}

// TimelineText is the timeline as plain lines, for the wizard's view.
func TimelineText(s *Session, loc *time.Location) []string {
	var out []string
	for _, e := range s.Events {
		t := e.At
		if loc != nil {
			t = t.In(loc)
		}
		out = append(out, fmt.Sprintf("%s  %-11s %s", t.Format("15:04:05"), e.Kind, e.Text))
	}
	return out
}
