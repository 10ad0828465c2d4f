package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/viewport"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// fixDialog is the confirm dialog: it shows exactly what a fix will do,
// then what it did.
type fixDialog struct {
	cause    checks.Cause
	fixes    []fixes.Fix
	idx      int
	view     viewport.Model
	applying bool
	done     bool
	applied  fixes.Applied
	err      error
	// progress are the engine's lines while it applies.
	progress []string
}

func (m *Model) refreshDialog() {
	d := m.dialog
	if d == nil || d.view.Width() <= 0 {
		return
	}
	d.view.SetContent(m.dialogContent(d.view.Width()))
}

func (m *Model) dialogContent(w int) string {
	s, d := m.styles, m.dialog
	f := d.fixes[d.idx]
	b := &textBuilder{w: w}
	if d.done {
		// What it did is on top of the screen (outcomeLines); here the
		// plan as confirmed, and below it the engine's own lines.
		b.add("", "The outcome is at the top of the screen; here the fix as confirmed and what the engine did.", "", s.Muted)
		b.blank()
	}
	b.add("", "Fix: "+f.Title, "", s.Heading)
	target := string(d.cause.ID)
	if d.cause.Target != "" {
		target += " on " + d.cause.Target
	}
	b.add("", "for "+target, "", s.Muted)
	if len(d.fixes) > 1 && !d.done {
		b.add("", fmt.Sprintf("fix %d of %d; tab shows the next", d.idx+1, len(d.fixes)), "", s.Muted)
	}
	b.blank()
	if len(f.Commands) > 0 {
		b.raw(s.Heading.Render("Runs, in order, without a shell:"))
		for _, argv := range f.Commands {
			b.add("  "+s.Command.Render("$ "), quoteArgv(argv), "    ")
		}
		b.blank()
	}
	if f.Diff != "" {
		b.raw(s.Heading.Render("Changes these files:"))
		for _, l := range strings.Split(strings.TrimRight(f.Diff, "\n"), "\n") {
			st := s.Evidence
			switch {
			case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
				st = s.Heading
			case strings.HasPrefix(l, "+"):
				st = s.DiffAdd
			case strings.HasPrefix(l, "-"):
				st = s.DiffDel
			}
			// Diff lines are cut, not wrapped: a wrapped diff misleads.
			b.raw("  " + st.Render(ansi.Truncate(l, w-2, "…")))
		}
		b.blank()
	}
	if f.Undo != "" {
		b.add(s.Heading.Render("Undo: "), f.Undo, "  ")
	}
	if f.Transient {
		note := "this change is lost when the backend restarts."
		if f.Durable != "" {
			note += " The durable fix is " + m.fixTitle(f.Durable) + "."
		}
		b.add(s.Warning.Render("Transient: "), note, "  ")
	}
	if f.Warning != "" {
		b.add(s.Warning.Render("Warning: "), f.Warning, "  ")
	}
	if d.applying && len(d.progress) > 0 {
		b.blank()
		for _, l := range d.progress {
			b.add("    ", l, "      ")
		}
	}
	if d.done && len(d.applied.Log) > 0 {
		b.blank()
		b.raw(s.Heading.Render("What the engine did, step by step:"))
		for _, l := range d.applied.Log {
			b.add("    ", l, "      ", s.Evidence)
		}
	}
	return b.String()
}

// fixTitle names a fix of the open dialog by id, for the durable hint.
func (m *Model) fixTitle(id string) string {
	for i, f := range m.dialog.fixes {
		if f.ID == id {
			return fmt.Sprintf("“%s” (fix %d, tab)", f.Title, i+1)
		}
	}
	return id
}

// dialogFooter says what the keys do now, or that the fix is running, and
// whether more of the plan is below: at 80x24 a warning or the undo can
// sit under the fold, and the plan must be read before y.
func (m *Model) dialogFooter() string {
	s, d := m.styles, m.dialog
	var f string
	switch {
	case d.applying:
		f = m.spin.View() + " applying…"
	case d.done:
		f = s.Key.Render("esc") + " close"
	case m.cfg.ReadOnly:
		f = s.Key.Render("n") + " close   read-only: nothing is applied"
	case m.cfg.Demo && m.cfg.DemoAfter == nil:
		f = s.Key.Render("n") + " close   demo: y changes nothing"
	case m.cfg.Demo:
		f = s.Key.Render("y") + " play the recorded fix   " + s.Key.Render("n") + " cancel   (nothing on this machine changes)"
	default:
		f = s.Key.Render("y") + " apply   " + s.Key.Render("n") + " cancel"
	}
	if !d.view.AtBottom() {
		f += "   " + s.Key.Render("↓") + " more below"
	}
	return f
}

func (m *Model) renderDialog(g geometry) string {
	s := m.styles
	inner := m.dialog.view.View() + "\n\n" + m.dialogFooter()
	box := s.Dialog.Width(g.dialogBoxW).Render(inner)
	return lipgloss.Place(max(m.width, 20), g.bodyHeight, lipgloss.Center, lipgloss.Top, box)
}

// quoteArgv shows an argv the way a shell user would type it, so that the
// preview can be copied; it is never run through a shell.
func quoteArgv(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = shellQuote(a)
	}
	return strings.Join(out, " ")
}

func shellQuote(a string) string {
	if a == "" {
		return "''"
	}
	safe := true
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r)) {
			safe = false
			break
		}
	}
	if safe {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
