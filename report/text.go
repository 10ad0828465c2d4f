package report

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// Width is the text report's line width: it must read in an 80-column terminal.
const Width = 80

// Marks show a status without relying on colour.
var Marks = map[checks.Status]string{
	checks.Pass: "✓", checks.Warn: "!", checks.Fail: "✗", checks.Skip: "–", checks.Error: "?", checks.Running: "…",
}

type textStyles struct {
	title, bad, good, warn, dim, id lipgloss.Style
}

func newTextStyles(color bool) textStyles {
	if !color {
		p := lipgloss.NewStyle()
		return textStyles{p, p, p, p, p, p}
	}
	return textStyles{
		title: lipgloss.NewStyle().Bold(true),
		bad:   lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		good:  lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		warn:  lipgloss.NewStyle().Foreground(lipgloss.Color("3")),
		dim:   lipgloss.NewStyle().Faint(true),
		id:    lipgloss.NewStyle().Foreground(lipgloss.Color("6")),
	}
}

func (st textStyles) status(s checks.Status) lipgloss.Style {
	switch s {
	case checks.Fail, checks.Error:
		return st.bad
	case checks.Warn:
		return st.warn
	case checks.Pass:
		return st.good
	}
	return st.dim
}

// Text renders the report for a terminal, 80 columns wide; colour only when asked.
func Text(in Input, color bool) []byte {
	o, s := in.Outcome, in.Outcome.Snapshot
	st := newTextStyles(color)
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	if in.Session != nil && in.Session.Demo {
		wrap(&b, st.warn.Render(DemoNote), "", "  ")
	}
	wrap(&b, st.title.Render("ngxdoctor: "+Context(o)), "", "  ")
	// Which nginx, when there was a choice or the one asked for is not running.
	if len(s.Install.Masters) > 1 || (!s.Install.Running && len(s.Install.Masters) > 0) {
		wrap(&b, "which nginx: "+s.Install.Chosen, "", "  ")
	}
	if h := hostLine(o); h != "" {
		wrap(&b, "host: "+h, "", "  ")
	}
	r := Build(in)
	win := "all of it"
	if r.Window.Since != nil {
		win = "since " + s.Since.Format("15:04:05")
	}
	wrap(&b, fmt.Sprintf("logs: %s (%d lines read)", win, r.Window.LinesRead), "", "  ")
	line("")
	switch o.Verdict.Status {
	case "ok":
		wrap(&b, st.good.Render("OK")+"  "+o.Verdict.Summary, "", "    ")
	case "incomplete":
		wrap(&b, st.warn.Render("INCOMPLETE")+" "+o.Verdict.Summary, "", "    ")
	default:
		// Not "502": the users may be getting a 504, a 500 or a closed
		// connection; the summary says what.
		wrap(&b, st.bad.Render("PROBLEM")+" "+o.Verdict.Summary, "", "    ")
	}
	if len(o.Causes) > 0 {
		line("")
		line(st.title.Render("Causes, most likely first"))
		n := 0
		for _, g := range Groups(o) {
			if len(g.Causes) > 1 {
				line("")
				wrap(&b, st.title.Render(g.Headline(o)), "", "   ")
				if ups := g.UpstreamNames(o); len(ups) > 0 {
					wrap(&b, "upstreams: "+capList(ups, 8), "   ", "     ")
				}
			}
			for k, i := range g.Causes {
				if k == GroupShown && len(g.Causes) > GroupShown {
					more := len(g.Causes) - GroupShown
					wrap(&b, fmt.Sprintf("... and %d more like this (check --format json lists every one)", more), "   ", "   ")
					break
				}
				n++
				c := r.Causes[i]
				line("")
				wrap(&b, fmt.Sprintf("%d. %s %s (%s confidence, %d log lines)", n, st.id.Render(c.ID), c.Target, c.Confidence, c.Occurrences), "", "   ")
				if i > 0 && (k == 0 || c.Summary != r.Causes[g.Causes[0]].Summary) { // the first one's summary is the verdict above
					wrap(&b, c.Summary, "   ", "   ")
				}
				ev := c.Evidence
				if k > 0 && len(ev) > 3 {
					ev = append(ev[:3:3], fmt.Sprintf("(%d more evidence lines)", len(c.Evidence)-3))
				}
				for _, e := range ev {
					wrap(&b, "- "+e, "   ", "     ")
				}
				for _, f := range c.Fixes {
					if in.ReadOnly {
						wrap(&b, f.Title, "   fix (preview only): ", "        ")
					} else {
						wrap(&b, f.Title, "   fix: ", "        ")
					}
					wrap(&b, "ngxdoctor fix "+f.ID, "        ", "          ")
				}
			}
		}
	}
	line("")
	line(st.title.Render("The ten steps"))
	for _, sr := range o.Steps {
		lead := fmt.Sprintf("%s %2d %-22s ", st.status(sr.Status).Render(Marks[sr.Status]), sr.Number, sr.Title)
		summary := ""
		for _, c := range sr.Checks {
			if c.Status == sr.Status {
				summary = c.Summary
				break
			}
		}
		wrap(&b, summary, lead, strings.Repeat(" ", 28))
	}
	if len(r.Advice) > 0 {
		line("")
		line(st.title.Render("Advice for the next incident"))
		for _, f := range r.Advice {
			wrap(&b, f.Title, "  - ", "    ")
			if f.NotOffered != "" {
				wrap(&b, "not offered: "+f.NotOffered, "    ", "      ")
				continue
			}
			wrap(&b, "ngxdoctor fix "+f.ID, "    ", "      ")
		}
	}
	if len(s.Notes) > 0 {
		line("")
		for _, n := range s.Notes {
			wrap(&b, st.dim.Render("note: "+n), "", "      ")
		}
	}
	switch {
	case len(o.Causes) > 0 && in.ReadOnly:
		line("")
		wrap(&b, st.dim.Render("Read-only: the fixes above are previews; nothing is applied."), "", "")
	case len(o.Causes) > 0 && len(in.Fixes) == 0:
		line("")
		wrap(&b, st.dim.Render("Read-only: no fix offered."), "", "")
	}
	return []byte(b.String())
}

// GroupShown is how many causes of one group a report shows in full; the
// rest are counted, so that 200 broken backends fit a screenful or two.
const GroupShown = 3

// capList joins up to n names and counts the rest.
func capList(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

// wrap writes text wrapped at Width, the first line after first, the rest after rest.
func wrap(b *strings.Builder, text, first, rest string) {
	prefix := first
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		cur := prefix
		n := lipgloss.Width(cur)
		empty := true
		for _, w := range words {
			ww := lipgloss.Width(w)
			if !empty && n+1+ww > Width {
				b.WriteString(strings.TrimRight(cur, " ") + "\n")
				cur, n, empty = rest, lipgloss.Width(rest), true
			}
			for ww > Width-n && ww > 0 && !strings.Contains(w, "\x1b") {
				// A word longer than the line (a path, a log line) is cut hard.
				cut := Width - n
				if cut < 10 {
					b.WriteString(strings.TrimRight(cur, " ") + "\n")
					cur, n, empty = rest, lipgloss.Width(rest), true
					cut = Width - n
				}
				b.WriteString(cur + w[:cut] + "\n")
				w, ww = w[cut:], ww-cut
				cur, n, empty = rest, lipgloss.Width(rest), true
			}
			if !empty {
				cur += " "
				n++
			}
			cur += w
			n += ww
			empty = false
		}
		b.WriteString(strings.TrimRight(cur, " ") + "\n")
		prefix = rest
	}
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
