package report

import (
	"fmt"
	"strings"
	"time"
)

// Markdown renders the report for an incident ticket: the verdict, the
// causes with their evidence and fixes, every step with what it ran.
func Markdown(in Input) []byte {
	o, s := in.Outcome, in.Outcome.Snapshot
	r := Build(in)
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	ses := in.Session
	incidentMode := ses != nil && len(ses.Actions) > 0
	if incidentMode {
		p("# nginx incident report (ngxdoctor)")
	} else {
		p("# nginx upstream diagnosis (ngxdoctor)")
	}
	p("")
	if ses != nil && ses.Demo {
		p("> **%s**", DemoNote)
		p("")
	}
	p("%s", Context(o))
	p("")
	p("- **When:** %s", generatedAt(o).Format(time.RFC3339))
	if len(s.Install.Masters) > 1 || (!s.Install.Running && len(s.Install.Masters) > 0) {
		p("- **Which nginx:** %s", s.Install.Chosen)
	}
	if h := hostLine(o); h != "" {
		p("- **Host:** %s", h)
	}
	p("- **nginx:** %s, config `%s`, running: %v, workers as `%s`", orQ(s.Install.Version), s.Install.Config, s.Install.Running, orQ(r.Nginx.WorkerUser))
	since := "the whole log"
	if r.Window.Since != nil {
		since = "since " + r.Window.Since.Format(time.RFC3339)
	}
	p("- **Log window:** %s, %d lines read from %s", since, r.Window.LinesRead, codeList(append(r.Window.ErrorLogs, r.Window.AccessLogs...)))
	p("")
	if incidentMode {
		incident(p, ses, o)
		p("## Diagnosis now")
		p("")
	} else {
		p("## Verdict")
		p("")
	}
	switch o.Verdict.Status {
	case "ok":
		p("**OK.** %s", o.Verdict.Summary)
	case "incomplete":
		p("**Incomplete.** %s", o.Verdict.Summary)
	default:
		p("**Problem.** %s", o.Verdict.Summary)
	}
	if len(r.Causes) > 0 {
		p("")
		p("## Causes, most likely first")
		for _, g := range Groups(o) {
			if len(g.Causes) > 1 {
				p("")
				p("### %s", g.Headline(o))
				if ups := g.UpstreamNames(o); len(ups) > 0 {
					p("")
					p("Upstreams: %s", codeList(ups))
				}
			}
			for k, i := range g.Causes {
				if k == GroupShown && len(g.Causes) > GroupShown {
					p("")
					p("And %d more like this: %s", len(g.Causes)-k, targetList(o, g.Causes[k:]))
					break
				}
				c := r.Causes[i]
				p("")
				p("#### %d. `%s` — %s", i+1, c.ID, c.Target)
				p("")
				p("%s", c.Summary)
				p("")
				p("Confidence: %s; %d error-log lines in the window.", c.Confidence, c.Occurrences)
				p("")
				p("```")
				for _, e := range c.Evidence {
					p("%s", e)
				}
				p("```")
				for _, f := range c.Fixes {
					p("")
					if in.ReadOnly {
						p("**Fix `%s` (preview, read-only):** %s", f.ID, f.Title)
					} else {
						p("**Fix `%s`:** %s", f.ID, f.Title)
					}
					if len(f.Commands) > 0 {
						p("")
						p("```sh")
						for _, argv := range f.Commands {
							p("%s", Argv(argv))
						}
						p("```")
					}
					if f.Diff != "" {
						p("")
						p("```diff")
						p("%s", strings.TrimRight(f.Diff, "\n"))
						p("```")
					}
					if f.Transient {
						p("")
						p("_Transient: the backend resets this when it restarts._")
					}
					if f.Undo != "" {
						p("")
						p("Undo: %s", f.Undo)
					}
				}
			}
		}
	}
	if len(r.Advice) > 0 {
		p("")
		p("## Advice for the next incident")
		p("")
		for _, f := range r.Advice {
			if f.NotOffered != "" {
				p("- %s: not offered, %s", f.Title, f.NotOffered)
				continue
			}
			p("- %s (`ngxdoctor fix %s`)", f.Title, f.ID)
		}
	}
	p("")
	p("## The ten steps")
	for _, sr := range o.Steps {
		p("")
		p("### %s %d. %s (%s)", Marks[sr.Status], sr.Number, sr.Title, sr.Status)
		for _, c := range sr.Checks {
			p("")
			p("- **%s** `%s`: %s", c.Status, c.ID, c.Summary)
			if len(c.Evidence) > 0 {
				p("")
				p("  ```")
				for _, e := range c.Evidence {
					p("  %s", e)
				}
				p("  ```")
			}
			if len(c.Manual) > 0 {
				p("")
				if len(c.NotInstalled) > 0 {
					p("  By hand: %s (not installed here: %s)", codeList(c.Manual), strings.Join(c.NotInstalled, ", "))
				} else {
					p("  By hand: %s", codeList(c.Manual))
				}
			}
		}
	}
	p("")
	p("## Host and versions")
	p("")
	if ses != nil && ses.Tool != "" {
		p("- **Tool:** %s", ses.Tool)
	}
	p("- **nginx:** %s (`%s`), master pid %d", orQ(s.Install.Version), orQ(s.Install.Binary), s.Install.MasterPID)
	p("- **Config:** `%s` (%s)", s.Install.Config, orQ(s.Install.ConfigFrom))
	if ses != nil && !ses.Started.IsZero() {
		p("- **Session:** %s to %s", ses.Started.UTC().Format(time.RFC3339), o.Started.Add(o.Duration).UTC().Format(time.RFC3339))
	}
	p("- **This diagnosis:** started %s, took %s", o.Started.UTC().Format(time.RFC3339), o.Duration.Round(time.Millisecond))
	if len(s.Notes) > 0 {
		p("")
		p("## Notes")
		p("")
		for _, n := range s.Notes {
			p("- %s", n)
		}
	}
	return []byte(b.String())
}

// Argv shows a command as a person would type it, quoting only where needed.
func Argv(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}

func codeList(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "`" + x + "`"
	}
	return strings.Join(q, ", ")
}
