package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/report"
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

// evidenceShown is how many evidence lines of one check the detail shows
// before it counts the rest: step 1 of a 200-server config has thousands.
const evidenceShown = 12

// detailCmd is a command of the detail as built: its line, for c to copy.
type detailCmd struct {
	line int
	text string
}

// cmd adds a command on one line, never wrapped (a wrapped command breaks
// a paste); one wider than the pane is cut on screen, and c copies it whole.
func (m *Model) cmd(b *textBuilder, indent, text string, missing []string) {
	s := m.styles
	line := len(b.lines)
	// c copies the first command at or below the top of the view.
	sel := m.cmdSel < 0 && line >= m.detail.YOffset()
	if sel {
		m.cmdSel = len(m.cmds)
	}
	lead := indent + s.Command.Render("$ ")
	if sel {
		lead = indent[:max(0, len(indent)-2)] + s.Key.Render("▸ ") + s.Command.Render("$ ")
	}
	l := lead + text
	if note := toolNote(text, missing); note != "" {
		l += "  " + s.Warning.Render("("+note+")")
	}
	b.raw(ansi.Truncate(l, b.w, "…"))
	m.cmds = append(m.cmds, detailCmd{line: line, text: text})
}

// detailContent is what the right pane says about the selected step.
func (m *Model) detailContent(w int) string {
	m.cmds, m.cmdSel = nil, -1
	m.causeLine = map[int]int{}
	if m.timeline {
		return m.timelineContent(w)
	}
	s := m.styles
	st := m.steps[m.selected]
	info, hasInfo := m.stepInfo(st.Number)
	b := &textBuilder{w: w}
	filtered := m.filterText() != ""
	if filtered {
		b.add("", m.filterStatus(), "", s.Muted)
		b.blank()
	}

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
		var manual, missing []string
		for _, c := range st.Checks {
			manual = append(manual, c.Manual...)
			missing = append(missing, c.NotInstalled...)
		}
		if len(manual) > 0 {
			b.raw(s.Heading.Render("Commands to run by hand, for this machine:"))
			for _, c := range dedupe(manual) {
				m.cmd(b, "  ", c, missing)
				if look := lookFor(c); look != "" {
					b.add("      ", "look for: "+look, "      ", s.Muted)
				}
			}
			b.blank()
		}
		m.byHand(b, st.Number)
	} else if hasInfo && info.Why != "" && !filtered {
		b.add("", info.Why, "", s.Muted)
		b.blank()
	}

	switch st.Status {
	case checks.Running:
		msg := "Still checking…"
		if w := m.stepWaits(m.selected); w != "" {
			msg = "Still checking: this step reads the live probes, " + w + "."
		}
		if len(st.Checks) > 0 {
			// A rerun keeps the last results in view rather than a blank pane.
			msg += " Until then the results below are from the previous run."
		}
		b.add("", msg, "", s.Muted)
	case "":
		b.raw(s.Muted.Render("Not run: the diagnosis stopped before this step."))
	}

	for _, c := range st.Checks {
		if !m.checkShown(c) {
			continue
		}
		summary := c.Summary
		if c.Duration >= slowCheck {
			summary += fmt.Sprintf(" (slow: %s)", c.Duration.Round(100*time.Millisecond))
		}
		b.add(s.mark(c.Status)+" ", summary, "  ")
		shown := 0
		for _, e := range c.Evidence {
			if !m.matches(e) && !m.matches(c.Summary) {
				continue
			}
			if !filtered && shown == evidenceShown {
				b.add("    ", fmt.Sprintf("… and %d more lines (/ finds one)", len(c.Evidence)-shown), "      ", s.Muted)
				break
			}
			shown++
			b.add("    ", m.asWho(e), "      ", s.Evidence)
		}
		if !m.learn && len(c.Manual) > 0 && !filtered {
			b.raw("  " + s.Muted.Render("By hand:"))
			for _, cmd := range c.Manual {
				m.cmd(b, "    ", cmd, c.NotInstalled)
			}
		}
	}

	m.causesBlock(b, st.Number)
	return b.String()
}

// causesBlock shows a step's causes by group: a group of one is told in
// full; a big one gets its headline, a few members and a count, and tab
// walks every member.
func (m *Model) causesBlock(b *textBuilder, step int) {
	if m.outcome == nil {
		return
	}
	s := m.styles
	for _, g := range m.groups {
		if causeStep(g.ID) != step {
			continue
		}
		if len(g.Causes) == 1 {
			if m.causeMatches(g.Causes[0]) {
				m.causeBlock(b, g.Causes[0])
			}
			continue
		}
		b.blank()
		b.add("", g.Headline(m.outcome), "", s.Heading)
		if ups := g.UpstreamNames(m.outcome); len(ups) > 0 {
			b.add("  ", "upstreams: "+capNames(ups, 6), "    ", s.Muted)
		}
		shown, hidden := 0, 0
		for k, ci := range g.Causes {
			if !m.causeMatches(ci) {
				continue
			}
			if k < report.GroupShown || ci == m.causeSel || (m.filterText() != "" && shown < 50) {
				m.causeBlock(b, ci)
				shown++
			} else {
				hidden++
			}
		}
		if hidden > 0 {
			b.blank()
			b.add("", fmt.Sprintf("… and %d more like this: tab walks them one by one, / finds one", hidden), "", s.Muted)
		}
	}
}

// asWho says which user a probe connected as: ngxdoctor's own (root,
// often), which a socket's or SELinux's rules may treat otherwise than
// the workers; the lines beside it say what the workers may do.
func (m *Model) asWho(e string) string {
	if !strings.HasPrefix(e, "probe ") || m.outcome == nil || m.outcome.Snapshot == nil {
		return e
	}
	who := "as this user"
	if m.outcome.Snapshot.Root {
		who = "as root"
	}
	return "probe " + who + " " + strings.TrimPrefix(e, "probe ")
}

func (m *Model) causeMatches(ci int) bool {
	c := m.outcome.Causes[ci]
	return m.matches(append([]string{string(c.ID), c.Target, c.Summary}, c.Evidence...)...)
}

func capNames(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

// causeBlock explains one cause and offers its fixes.
func (m *Model) causeBlock(b *textBuilder, ci int) {
	s := m.styles
	c := m.outcome.Causes[ci]
	b.blank()
	m.causeLine[ci] = len(b.lines)
	head := "Cause: " + string(c.ID)
	if c.Target != "" {
		head += " on " + c.Target
	}
	if ci == 0 {
		head += " (most likely)"
	}
	lead := ""
	if ci == m.causeSel && len(m.outcome.Causes) > 1 {
		lead = s.Key.Render("▸ ")
	}
	b.add(lead, head, "", s.Heading)
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
		b.add("  • ", m.asWho(e), "    ", s.Evidence)
	}
	fx := m.fixesOf(ci)
	if len(fx) == 0 {
		b.raw(s.Muted.Render("No automatic fix: l shows how to fix it by hand."))
		return
	}
	if m.cfg.ReadOnly {
		b.raw(s.Heading.Render("Fixes (read-only: f previews, nothing is applied):"))
	} else {
		b.raw(s.Heading.Render("Fixes:"))
	}
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
		b.add("  ", "tab selects this cause; then f previews its fix", "  ", s.Muted)
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
