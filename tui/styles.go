package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
	"github.com/ngxdoctor/ngxdoctor/checks"
)

// Styles is every style the wizard uses, built once for the terminal's
// background (or with no colour at all). Nothing else in the package
// picks a colour.
type Styles struct {
	Plain bool

	VerdictProblem lipgloss.Style
	VerdictOK      lipgloss.Style
	VerdictPending lipgloss.Style
	FixHint        lipgloss.Style
	Banner         lipgloss.Style // the fix's outcome above the verdict
	Badge          lipgloss.Style

	Pane        lipgloss.Style // an unfocused box
	PaneFocused lipgloss.Style // the box that receives the arrow keys
	PaneTitle   lipgloss.Style
	Rule        lipgloss.Style

	Selected lipgloss.Style // the selected step's line
	Muted    lipgloss.Style
	Heading  lipgloss.Style
	Evidence lipgloss.Style
	Command  lipgloss.Style
	Key      lipgloss.Style
	DiffAdd  lipgloss.Style
	DiffDel  lipgloss.Style
	Warning  lipgloss.Style

	Marks map[checks.Status]lipgloss.Style

	Dialog      lipgloss.Style
	Status      lipgloss.Style
	StatusError lipgloss.Style
	Spinner     lipgloss.Style
	Help        help.Styles
}

// NewStyles builds the coloured style set for a dark or a light
// background; lossy is a terminal of 16 colours or fewer, where a tinted
// background may come out as the screen's own colour.
func NewStyles(isDark, lossy bool) Styles {
	ld := lipgloss.LightDark(isDark)
	var (
		fg     = ld(lipgloss.Color("#1F1F1F"), lipgloss.Color("#E4E4E4"))
		muted  = ld(lipgloss.Color("#6B6B6B"), lipgloss.Color("#8A8A8A"))
		border = ld(lipgloss.Color("#B8B8B8"), lipgloss.Color("#4E4E4E"))
		accent = ld(lipgloss.Color("#005FD7"), lipgloss.Color("#5FAFFF"))
		green  = ld(lipgloss.Color("#00875F"), lipgloss.Color("#5FD787"))
		yellow = ld(lipgloss.Color("#AF5F00"), lipgloss.Color("#FFD75F"))
		red    = ld(lipgloss.Color("#D70000"), lipgloss.Color("#FF5F5F"))
		selBg  = ld(lipgloss.Color("#D7E7FF"), lipgloss.Color("#303A4A"))
	)
	s := Styles{
		VerdictProblem: lipgloss.NewStyle().Bold(true).Foreground(red),
		VerdictOK:      lipgloss.NewStyle().Bold(true).Foreground(green),
		VerdictPending: lipgloss.NewStyle().Foreground(fg),
		FixHint:        lipgloss.NewStyle().Foreground(accent),
		Banner:         lipgloss.NewStyle().Bold(true).Foreground(green),
		Badge:          lipgloss.NewStyle().Bold(true).Foreground(yellow),
		Pane:           lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border),
		PaneFocused:    lipgloss.NewStyle().Border(lipgloss.ThickBorder()).BorderForeground(accent),
		PaneTitle:      lipgloss.NewStyle().Bold(true).Foreground(accent),
		Rule:           lipgloss.NewStyle().Foreground(border),
		Selected:       lipgloss.NewStyle().Bold(true).Background(selBg),
		Muted:          lipgloss.NewStyle().Foreground(muted),
		Heading:        lipgloss.NewStyle().Bold(true).Foreground(fg),
		Evidence:       lipgloss.NewStyle().Foreground(fg),
		Command:        lipgloss.NewStyle().Foreground(accent),
		Key:            lipgloss.NewStyle().Bold(true).Foreground(accent),
		DiffAdd:        lipgloss.NewStyle().Foreground(green),
		DiffDel:        lipgloss.NewStyle().Foreground(red),
		Warning:        lipgloss.NewStyle().Foreground(yellow),
		Marks: map[checks.Status]lipgloss.Style{
			checks.Pass:    lipgloss.NewStyle().Foreground(green),
			checks.Warn:    lipgloss.NewStyle().Foreground(yellow),
			checks.Fail:    lipgloss.NewStyle().Bold(true).Foreground(red),
			checks.Skip:    lipgloss.NewStyle().Foreground(muted),
			checks.Error:   lipgloss.NewStyle().Bold(true).Foreground(yellow),
			checks.Running: lipgloss.NewStyle().Foreground(accent),
		},
		Dialog:      lipgloss.NewStyle().Border(lipgloss.ThickBorder()).BorderForeground(accent).Padding(0, 1),
		Status:      lipgloss.NewStyle().Foreground(muted),
		StatusError: lipgloss.NewStyle().Foreground(red),
		Spinner:     lipgloss.NewStyle().Foreground(accent),
		Help:        help.DefaultStyles(isDark),
	}
	if lossy {
		s.Selected = lipgloss.NewStyle().Bold(true).Reverse(true)
	}
	return s
}

// PlainStyles is the NO_COLOR / --no-color set: no colour, no attributes.
// Focus is still visible (a thick border), and status is carried by marks.
func PlainStyles() Styles {
	n := lipgloss.NewStyle()
	s := Styles{
		Plain:          true,
		VerdictProblem: n, VerdictOK: n, VerdictPending: n, FixHint: n, Banner: n, Badge: n,
		Pane:        n.Border(lipgloss.NormalBorder()),
		PaneFocused: n.Border(lipgloss.ThickBorder()),
		PaneTitle:   n, Rule: n, Selected: n.Reverse(true), Muted: n, Heading: n, Evidence: n,
		Command: n, Key: n, DiffAdd: n, DiffDel: n, Warning: n,
		Marks:  map[checks.Status]lipgloss.Style{},
		Dialog: n.Border(lipgloss.ThickBorder()).Padding(0, 1),
		Status: n, StatusError: n, Spinner: n,
		Help: help.Styles{Ellipsis: n, ShortKey: n, ShortDesc: n, ShortSeparator: n, FullKey: n, FullDesc: n, FullSeparator: n},
	}
	return s
}

// mark is a status as a character, so that status never rests on colour alone.
func mark(st checks.Status) string {
	switch st {
	case checks.Pass:
		return "✓"
	case checks.Warn:
		return "!"
	case checks.Fail:
		return "✗"
	case checks.Skip:
		return "–"
	case checks.Error:
		return "?"
	default:
		return "·"
	}
}

func (s Styles) mark(st checks.Status) string {
	if ms, ok := s.Marks[st]; ok {
		return ms.Render(mark(st))
	}
	return mark(st)
}
