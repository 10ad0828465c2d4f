package tui

import (
	"errors"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/report"
)

const (
	// wideMin is the width from which steps and detail stand side by side.
	wideMin = 100
	// stepsPaneWidth is the steps column in the wide layout, border included.
	stepsPaneWidth = 34
	// maxVerdictLines keeps a long cause summary from pushing the steps off
	// an 80x24 screen.
	maxVerdictLines = 3

	healthyVerdict = "No cause found: nginx and its backends look healthy"
	noNginxVerdict = "No nginx found on this machine. Try `ngxdoctor demo` for a recorded incident."
	demoBadge      = "DEMO: recorded incident, nothing is changed"
)

// phaseText says what the last collection phase finished.
var phaseText = map[string]string{
	"discovered": "nginx found",
	"config":     "config read",
	"logs":       "logs read",
	"replay":     "requests through nginx asked",
	"probes":     "targets probed",
	"host":       "host facts read",
}

func (m *Model) wide() bool { return m.width >= wideMin }

// geometry is where everything goes for the current size and content.
type geometry struct {
	top, footer         string
	bodyHeight          int
	detailW, detailH    int // the detail viewport
	dialogW, dialogH    int // the dialog viewport
	dialogBoxW          int
	stepsH, stepsInnerW int
}

// relayout sizes the panes for the current terminal and content and
// re-wraps the detail. Update calls it after every change of state.
func (m *Model) relayout() {
	m.help.SetWidth(m.width)
	g := m.measure()
	widthChanged := m.detail.Width() != g.detailW
	m.detail.SetWidth(g.detailW)
	m.detail.SetHeight(g.detailH)
	if widthChanged {
		m.refreshDetail(false)
	}
	if d := m.dialog; d != nil {
		d.view.SetWidth(g.dialogW)
		m.refreshDialog()
		// As tall as its text, up to the room there is; beyond that it scrolls.
		d.view.SetHeight(min(max(1, d.view.TotalLineCount()), g.dialogH))
	}
}

func (m *Model) measure() geometry {
	var g geometry
	w, h := max(m.width, 20), max(m.height, 8)
	g.top = m.renderVerdict(w)
	g.footer = m.renderFooter(w)
	g.bodyHeight = max(3, h-lipgloss.Height(g.top)-lipgloss.Height(g.footer))
	if m.wide() {
		g.stepsInnerW = stepsPaneWidth - 2
		g.stepsH = g.bodyHeight - 2
		// Detail box: border (2) and one column of padding each side (2).
		g.detailW = w - stepsPaneWidth - 4
		g.detailH = max(1, g.bodyHeight-2-1) // minus the title line
	} else {
		g.stepsInnerW = w
		// The list gives way first, keeping at least half the body (and
		// ten lines where there is room) for the detail; it then shows a
		// window around the selection.
		keep := max(3, min(10, g.bodyHeight/2))
		g.stepsH = max(1, min(stepCount, g.bodyHeight-1-keep))
		g.detailW = w
		g.detailH = max(1, g.bodyHeight-g.stepsH-1) // minus the rule line
	}
	g.dialogBoxW = min(w, 100)
	g.dialogW = g.dialogBoxW - 4         // thick border and padding
	g.dialogH = max(1, g.bodyHeight-2-2) // border, blank, footer line
	return g
}

// View draws the whole screen; it never changes the model.
func (m *Model) View() tea.View {
	g := m.measure()
	var body string
	switch {
	case m.dialog != nil:
		body = m.renderDialog(g)
	case m.wide():
		body = m.renderWide(g)
	default:
		body = m.renderStacked(g)
	}
	screen := lipgloss.JoinVertical(lipgloss.Left, g.top, body, g.footer)
	// Never draw more lines than the terminal has: the top would scroll away.
	lines := strings.Split(screen, "\n")
	if len(lines) > m.height && m.height > 0 {
		lines = lines[:m.height]
	}
	// Nor a line wider than it has: after a resize in the middle of a run,
	// a line built for the old width would wrap and shift the whole frame.
	if w := m.width; w > 0 {
		for i, l := range lines {
			if ansi.StringWidth(l) > w {
				lines[i] = ansi.Truncate(l, w, "")
			}
		}
	}
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	v.WindowTitle = "ngxdoctor"
	return v
}

// renderVerdict is the bar on top: the answer, or what is being done.
func (m *Model) renderVerdict(w int) string {
	s := m.styles
	var head, hint string
	var style lipgloss.Style
	switch m.state {
	case stateDiscovering:
		style = s.VerdictPending
		head = m.spin.View() + " Looking for nginx, its config and its logs…"
		if m.cancelled {
			head += " (the previous run was cancelled)"
		}
	case stateChecking:
		done := 0
		for _, st := range m.steps {
			if st.Status != checks.Running && st.Status != "" {
				done++
			}
		}
		style = s.VerdictPending
		head = fmt.Sprintf("%s Checking: %d of %d steps done", m.spin.View(), done, stepCount)
		if w := m.waiting(); w != "" {
			head += " · " + w
		} else if p := phaseText[m.phase]; p != "" {
			head += " · " + p
		}
	case stateFailed:
		style = s.VerdictProblem
		if errors.Is(m.err, checks.ErrNoNginx) {
			head = mark(checks.Error) + " " + noNginxVerdict
		} else {
			head = mark(checks.Error) + " Could not diagnose: " + m.err.Error()
		}
		hint = "r runs the checks again"
	case stateReady:
		switch {
		case len(m.outcome.Causes) == 0 && m.outcome.Verdict.Status == "incomplete":
			// A run that did not finish never says healthy.
			style = s.VerdictPending
			head = mark(checks.Warn) + " " + m.outcome.Verdict.Summary
			hint = "r runs the checks again"
		case len(m.outcome.Causes) == 0:
			style = s.VerdictOK
			head = mark(checks.Pass) + " " + healthyVerdict
			if v := strings.TrimSuffix(m.outcome.Verdict.Summary, "."); v != "" && v != healthyVerdict {
				head = mark(checks.Pass) + " " + v
			}
			hint = m.warningsHint()
		default:
			style = s.VerdictProblem
			head = mark(checks.Fail) + " " + m.outcome.Causes[0].Summary
			hint = m.causeHint()
		}
	}
	lines := wrapIndent(head, w, "  ")
	if len(lines) > maxVerdictLines {
		lines = lines[:maxVerdictLines]
		last := ansi.Truncate(lines[maxVerdictLines-1], w-1, "")
		lines[maxVerdictLines-1] = last + "…"
	}
	out := style.Render(strings.Join(lines, "\n"))
	if hint != "" {
		out += "\n" + s.FixHint.Render(ansi.Truncate("  "+hint, w, "…"))
	}
	if len(m.banner) > 0 {
		// The fix's outcome goes above the verdict, where the eye is,
		// until the next key.
		// Each line wraps once at most: a path or an argv is read whole
		// more often than not.
		var bl []string
		for i, l := range m.banner {
			st := s.Banner
			if i > 0 {
				st = s.FixHint
			}
			wl := wrapIndent(l, w, "      ")
			if len(wl) > 2 {
				wl = []string{wl[0], ansi.Truncate(strings.Join(wl[1:], " "), w, "…")}
			}
			for _, x := range wl {
				bl = append(bl, st.Render(ansi.Truncate(x, w, "…")))
			}
		}
		out = strings.Join(bl, "\n") + "\n" + out
	}
	if c := m.contextLine(); c != "" {
		// Two lines at most, broken between facts, never inside one.
		var cl []string
		cur := ""
		for _, part := range strings.Split(c, " · ") {
			switch {
			case cur == "":
				cur = part
			case ansi.StringWidth(cur+" · "+part) <= w:
				cur += " · " + part
			default:
				cl = append(cl, cur)
				cur = part
			}
		}
		cl = append(cl, cur)
		if len(cl) > 2 {
			cl = append(cl[:1], strings.Join(cl[1:], " · "))
		}
		for _, l := range cl {
			out += "\n" + s.Muted.Render(ansi.Truncate(l, w, "…"))
		}
	}
	return out
}

// contextLine says where and when: host, nginx, config, master, workers,
// time of the checks, and how many masters there are to switch between.
func (m *Model) contextLine() string {
	if m.outcome == nil || m.outcome.Snapshot == nil {
		return ""
	}
	c := report.ContextShort(m.outcome)
	if n := len(m.masters()); n > 1 {
		c = fmt.Sprintf("%d nginx masters: s to switch · ", n) + c
	}
	if m.state != stateReady {
		c = "last run: " + c
	}
	return c
}

// waiting names what the checks still wait for while probes run.
func (m *Model) waiting() string {
	if m.probesTotal == 0 || m.probesDone >= m.probesTotal {
		return ""
	}
	left := m.probeDeadline.Sub(m.now)
	w := fmt.Sprintf("waiting for %d of %d probes", m.probesTotal-m.probesDone, m.probesTotal)
	if left > 0 {
		w += fmt.Sprintf(", deadline %.1f s left", left.Seconds())
	}
	return w
}

// stepWaits says what a step still being checked waits for: a step that
// reads the probes waits for the last of them ("waiting for 3 of 200
// probes"); the others are in as soon as their own evidence is.
func (m *Model) stepWaits(i int) string {
	st := m.steps[i]
	if st.Status != checks.Running || m.probesTotal == 0 || m.probesDone >= m.probesTotal {
		return ""
	}
	info, ok := m.stepInfo(st.Number)
	if !ok || info.Needs != 0 && info.Needs&checks.NeedProbes == 0 {
		return ""
	}
	return fmt.Sprintf("waiting for %d of %d probes", m.probesTotal-m.probesDone, m.probesTotal)
}

// causeHint says where the evidence is and what f would do.
func (m *Model) causeHint() string {
	c := m.outcome.Causes[0]
	var parts []string
	for _, g := range m.groups {
		if len(g.Causes) > 1 {
			parts = append(parts, g.Headline(m.outcome))
			break
		}
	}
	if n := causeStep(c.ID); n > 0 {
		parts = append(parts, fmt.Sprintf("evidence in step %d", n))
	}
	if t := m.fixTarget(); t >= 0 && m.cfg.ReadOnly {
		parts = append(parts, "read-only: f previews "+m.fixesOf(t)[0].Title)
	} else if t >= 0 {
		parts = append(parts, "f fix: "+m.fixesOf(t)[0].Title)
	} else if m.cfg.ReadOnly {
		parts = append(parts, "read-only: nothing is applied")
	}
	if n := len(m.outcome.Causes); n > 1 {
		if len(m.groups) > 1 || len(m.groups[0].Causes) != n {
			parts = append(parts, fmt.Sprintf("%d causes in %d groups · tab walks them", n, len(m.groups)))
		} else {
			parts = append(parts, fmt.Sprintf("%d causes · tab walks them", n))
		}
	}
	return strings.Join(parts, " · ")
}

func (m *Model) warningsHint() string {
	var nums []string
	for _, st := range m.steps {
		if st.Status == checks.Warn || st.Status == checks.Error {
			nums = append(nums, fmt.Sprint(st.Number))
		}
	}
	if len(nums) == 0 {
		return ""
	}
	return "worth a look: step " + strings.Join(nums, ", ")
}

// renderFooter is the status line and the help.
func (m *Model) renderFooter(w int) string {
	s := m.styles
	left := m.status
	st := s.Status
	if m.statusError {
		st = s.StatusError
	}
	right := ""
	if m.cfg.Demo {
		right = demoBadge
	}
	room := w
	if right != "" {
		room = w - ansi.StringWidth(right) - 2
	}
	var line string
	if ansi.StringWidth(left) > room {
		// No room for both: the message the user just caused wins (a
		// report's path must be read whole); the badge returns with the
		// next message.
		line = st.Render(ansi.Truncate(left, w, "…"))
	} else {
		gap := max(0, w-ansi.StringWidth(left)-ansi.StringWidth(right))
		line = st.Render(left) + strings.Repeat(" ", gap) + s.Badge.Render(right)
	}
	if m.filtering {
		line = s.Key.Render("/") + m.filter.Value() + "█  " + s.Muted.Render("enter keeps · esc clears")
	} else if left == "" && m.filter.Value() != "" {
		line = s.Muted.Render(ansi.Truncate("filter /"+m.filter.Value()+" · esc clears", w, "…"))
	}
	var hv string
	if m.help.ShowAll {
		hv = m.help.View(m.keys)
	} else {
		hv = m.shortHelp(w)
	}
	// bubbles' help can overrun its width by one item; a wider line would
	// widen the whole frame, so cut it here.
	hl := strings.Split(hv, "\n")
	for i, l := range hl {
		hl[i] = ansi.Truncate(l, w, "…")
	}
	return line + "\n" + strings.Join(hl, "\n")
}

// shortHelp is the one-line help for width w: the lowest-ranked keys give
// way first, so q quit and ? keys stay on a 60-column line.
func (m *Model) shortHelp(w int) string {
	ranked := m.keys.shortHelp()
	var on []rankedKey
	for _, r := range ranked {
		if r.b.Enabled() {
			on = append(on, r)
		}
	}
	h := m.help
	h.SetWidth(0) // measure whole; bubbles would cut the tail (q quit) itself
	for {
		bs := make([]key.Binding, len(on))
		for i, r := range on {
			bs[i] = r.b
		}
		v := h.ShortHelpView(bs)
		if ansi.StringWidth(v) <= w || len(on) <= 2 {
			return v
		}
		low := 0
		for i, r := range on {
			if r.rank < on[low].rank || (r.rank == on[low].rank && i > low) {
				low = i
			}
		}
		on = append(on[:low], on[low+1:]...)
	}
}

// stepLine is one step in the list: selection, mark, number, title and,
// when there is room, the finding.
func (m *Model) stepLine(i, w int, summary bool) string {
	s := m.styles
	st := m.steps[i]
	sel := " "
	if i == m.selected {
		sel = "›"
	}
	mk := s.mark(st.Status)
	if st.Status == checks.Running {
		mk = m.spin.View()
	}
	prefix := fmt.Sprintf("%s %s %2d ", sel, mk, st.Number)
	if m.filterText() != "" {
		if n := m.stepMatches(i); n > 0 {
			st.Title = fmt.Sprintf("%s (%d)", st.Title, n)
		} else {
			st.Title = s.Muted.Render(st.Title)
		}
	}
	pw := ansi.StringWidth(prefix)
	titleW := max(1, w-pw)
	var text string
	if summary && w >= 60 {
		titleW = min(titleW, 28)
		text = pad(ansi.Truncate(st.Title, titleW, "…"), titleW)
		f := finding(st)
		if st.Status == checks.Running {
			f = m.stepWaits(i)
		}
		if f != "" {
			text += " " + s.Muted.Render(ansi.Truncate(f, max(0, w-pw-titleW-1), "…"))
		}
	} else {
		text = ansi.Truncate(st.Title, titleW, "…")
	}
	line := prefix + text
	if i == m.selected && !s.Plain {
		line = s.Selected.Render(pad(line, w))
	}
	return line
}

// finding is the one-line result of a step: its worst check's summary.
func finding(st checks.StepResult) string {
	for _, c := range st.Checks {
		if c.Status == st.Status && c.Summary != "" {
			return c.Summary
		}
	}
	if len(st.Checks) > 0 {
		return st.Checks[0].Summary
	}
	return ""
}

// renderSteps draws up to rows steps, a window that keeps the selection in view.
func (m *Model) renderSteps(w int, summary bool, rows int) string {
	rows = max(1, min(stepCount, rows))
	first := max(0, min(m.selected-rows/2, stepCount-rows))
	lines := make([]string, 0, rows)
	for i := first; i < first+rows; i++ {
		lines = append(lines, m.stepLine(i, w, summary))
	}
	return strings.Join(lines, "\n")
}

func (m *Model) detailTitle() string {
	st := m.steps[m.selected]
	t := fmt.Sprintf("Step %d of %d · %s", st.Number, stepCount, st.Title)
	if m.timeline {
		t = "Timeline"
	} else if m.learn {
		t += " · learn"
	}
	return t + " · " + m.position()
}

func (m *Model) renderWide(g geometry) string {
	s := m.styles
	stepsBox, detailBox := s.Pane, s.Pane
	if m.focus == focusDetail {
		detailBox = s.PaneFocused
	} else {
		stepsBox = s.PaneFocused
	}
	inner := m.renderSteps(g.stepsInnerW, false, g.stepsH)
	if g.stepsH >= stepCount+3 {
		inner += "\n\n" + s.Muted.Render(legend())
	}
	left := stepsBox.Width(stepsPaneWidth).Height(g.bodyHeight).Render(inner)
	title := s.PaneTitle.Render(ansi.Truncate(m.detailTitle(), g.detailW, "…"))
	right := detailBox.Width(m.width-stepsPaneWidth).Height(g.bodyHeight).Padding(0, 1).
		Render(title + "\n" + m.detail.View())
	return lipgloss.JoinHorizontal(lipgloss.Top, left, right)
}

func (m *Model) renderStacked(g geometry) string {
	s := m.styles
	w := max(m.width, 20)
	steps := m.renderSteps(w, true, g.stepsH)
	focusMark := "─"
	if m.focus == focusDetail {
		focusMark = "━"
	}
	title := " " + ansi.Truncate(m.detailTitle(), w-6, "…") + " "
	rule := s.Rule.Render(strings.Repeat(focusMark, 2)) + s.PaneTitle.Render(title)
	if rest := w - ansi.StringWidth(rule); rest > 0 {
		rule += s.Rule.Render(strings.Repeat(focusMark, rest))
	}
	return steps + "\n" + rule + "\n" + m.detail.View()
}

// position says where the detail's view is: "lines 1-9 of 40".
func (m *Model) position() string {
	total := m.detail.TotalLineCount()
	h := m.detail.Height()
	if total <= h {
		return "all"
	}
	top := m.detail.YOffset() + 1
	return fmt.Sprintf("%d-%d of %d", top, min(total, top+h-1), total)
}

func legend() string {
	return "✓ pass  ! warn  ✗ fail\n– skip  ? error"
}

// pad right-pads s with spaces to w columns.
func pad(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return s
}

// wrapIndent wraps s to w columns; continuation lines get indent. All
// lines are wrapped at the narrower width so that nothing is sliced apart.
func wrapIndent(s string, w int, indent string) []string {
	iw := ansi.StringWidth(indent)
	if w <= iw+4 {
		return []string{s}
	}
	lines := wrapWords(s, w-iw)
	for i := 1; i < len(lines); i++ {
		lines[i] = indent + lines[i]
	}
	return lines
}

// wrapWords wraps plain text at spaces only: paths, flags and host names
// stay whole so that they can be copied (ansi.Wrap also breaks at '-').
// A word longer than the line is cut hard. A line that fits is kept as
// it is, alignment included.
func wrapWords(s string, limit int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		if ansi.StringWidth(para) <= limit {
			lines = append(lines, para)
			continue
		}
		cur, curW, started := "", 0, false
		for _, word := range strings.Split(para, " ") {
			ww := ansi.StringWidth(word)
			cut := false
			for ww > limit {
				if started {
					lines = append(lines, cur)
					cur, curW, started = "", 0, false
				}
				head := ansi.Truncate(word, limit, "")
				lines = append(lines, head)
				word = word[len(head):]
				ww = ansi.StringWidth(word)
				cut = true
			}
			switch {
			case cut && word == "":
			case !started:
				cur, curW, started = word, ww, true
			case curW+1+ww <= limit:
				cur += " " + word
				curW += 1 + ww
			default:
				lines = append(lines, cur)
				cur, curW = word, ww
			}
		}
		if started {
			lines = append(lines, cur)
		}
	}
	return lines
}
