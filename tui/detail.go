package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// slowCheck is when a check's duration is worth showing: a slow probe
// tells the engineer something (a timeout, a filtered port).
const slowCheck = time.Second

// refreshDetail rebuilds the selected step's text; top scrolls it back up
// (another step was chosen).
func (m *Model) refreshDetail(top bool) {
	w := m.detail.Width()
	if w <= 0 {
		return
	}
	m.detail.SetContent(m.detailContent(w))
	if top {
		m.detail.GotoTop()
	}
}

// textBuilder collects wrapped lines for a pane of a given width.
type textBuilder struct {
	w     int
	lines []string
}

func (b *textBuilder) blank() {
	if n := len(b.lines); n > 0 && b.lines[n-1] != "" {
		b.lines = append(b.lines, "")
	}
}

// add wraps plain text after a first-line prefix, continuing under indent,
// and styles each line after wrapping (a style split across lines would
// leak into the padding).
func (b *textBuilder) add(prefix, text, indent string, st ...lipgloss.Style) {
	avail := max(8, b.w-max(ansi.StringWidth(prefix), ansi.StringWidth(indent)))
	for i, l := range wrapWords(text, avail) {
		for _, s := range st {
			l = s.Render(l)
		}
		if i == 0 {
			l = prefix + l
		} else {
			l = indent + l
		}
		b.lines = append(b.lines, l)
	}
}

func (b *textBuilder) raw(l string) { b.lines = append(b.lines, l) }

func (b *textBuilder) String() string { return strings.Join(b.lines, "\n") }

// detailContent is what the right pane says about the selected step.
func (m *Model) detailContent(w int) string {
	s := m.styles
	st := m.steps[m.selected]
	info, hasInfo := m.stepInfo(st.Number)
	b := &textBuilder{w: w}

	if m.learn {
		text := info.Learn
		if text == "" {
			text = info.Why
		}
		if text != "" {
			for _, para := range strings.Split(text, "\n") {
				b.add("", para, "")
			}
			b.blank()
		}
		var manual []string
		for _, c := range st.Checks {
			manual = append(manual, c.Manual...)
		}
		if len(manual) > 0 {
			b.raw(s.Heading.Render("Commands to run by hand:"))
			for _, cmd := range dedupe(manual) {
				b.add("  "+s.Command.Render("$ "), cmd, "    ")
			}
			b.blank()
		}
	} else if hasInfo && info.Why != "" {
		b.add("", info.Why, "", s.Muted)
		b.blank()
	}

	switch st.Status {
	case checks.Running:
		if len(st.Checks) > 0 {
			// A rerun keeps the last results in view rather than a blank pane.
			b.add("", "Still checking… the results below are from the previous run.", "", s.Muted)
		} else {
			b.raw(s.Muted.Render("Still checking…"))
		}
	case "":
		b.raw(s.Muted.Render("Not run: the diagnosis stopped before this step."))
	}

	for _, c := range st.Checks {
		summary := c.Summary
		if c.Duration >= slowCheck {
			summary += fmt.Sprintf(" (slow: %s)", c.Duration.Round(100*time.Millisecond))
		}
		b.add(s.mark(c.Status)+" ", summary, "  ")
		for _, e := range c.Evidence {
			b.add("    ", e, "      ", s.Evidence)
		}
		if !m.learn && len(c.Manual) > 0 {
			b.raw("  " + s.Muted.Render("By hand:"))
			for _, cmd := range c.Manual {
				b.add("    "+s.Command.Render("$ "), cmd, "      ")
			}
		}
	}

	for _, ci := range m.causesOfStep(st.Number) {
		m.causeBlock(b, ci)
	}
	return b.String()
}

// causeBlock explains one cause and offers its fixes.
func (m *Model) causeBlock(b *textBuilder, ci int) {
	s := m.styles
	c := m.outcome.Causes[ci]
	b.blank()
	head := "Cause: " + string(c.ID)
	if c.Target != "" {
		head += " on " + c.Target
	}
	if ci == 0 {
		head += " (most likely)"
	}
	b.add("", head, "", s.Heading)
	b.add("", c.Summary, "")
	var facts []string
	if c.Confidence != "" {
		facts = append(facts, string(c.Confidence)+" confidence")
	}
	if c.Occurrences > 0 {
		facts = append(facts, fmt.Sprintf("%d log lines in the window", c.Occurrences))
	}
	if c.Live {
		facts = append(facts, "confirmed by a live probe")
	}
	if c.FollowsFrom != "" {
		facts = append(facts, "follows from "+string(c.FollowsFrom))
	}
	if len(facts) > 0 {
		b.add("", strings.Join(facts, " · "), "", s.Muted)
	}
	for _, e := range c.Evidence {
		b.add("  • ", e, "    ", s.Evidence)
	}
	if m.cfg.ReadOnly {
		b.raw(s.Muted.Render("Fixes are disabled (read-only)."))
		return
	}
	fx := m.fixesOf(ci)
	if len(fx) == 0 {
		b.raw(s.Muted.Render("No automatic fix: the evidence above says what to change."))
		return
	}
	b.raw(s.Heading.Render("Fixes:"))
	target := m.fixTarget()
	for j, f := range fx {
		key := "   "
		if j == 0 && ci == target {
			key = s.Key.Render("[f]")
		}
		title := f.Title
		if f.Transient {
			title += " (transient)"
		}
		b.add("  "+key+" ", title, "      ")
	}
	switch {
	case ci != target:
		// f opens one cause per step; the CLI reaches the others.
		b.add("  ", "f opens the cause above; to fix this one: ngxdoctor fix "+fx[0].ID, "  ", s.Muted)
	case len(fx) > 1:
		b.add("  ", "f shows the first; tab in the dialog shows the others.", "  ", s.Muted)
	}
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
