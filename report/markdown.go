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

	p("# nginx upstream diagnosis (ngxdoctor)")
	p("")
	p("- **When:** %s", generatedAt(o).Format(time.RFC3339))
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
	p("## Verdict")
	p("")
	if o.Verdict.Status == "ok" {
		p("**OK.** %s", o.Verdict.Summary)
	} else {
		p("**Problem.** %s", o.Verdict.Summary)
	}
	if len(r.Causes) > 0 {
		p("")
		p("## Causes, most likely first")
		for i, c := range r.Causes {
			p("")
			p("### %d. `%s` — %s", i+1, c.ID, c.Target)
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
				p("**Fix `%s`:** %s", f.ID, f.Title)
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
	if len(r.Advice) > 0 {
		p("")
		p("## Advice for the next incident")
		p("")
		for _, f := range r.Advice {
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
				p("  By hand: %s", codeList(c.Manual))
			}
		}
	}
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
