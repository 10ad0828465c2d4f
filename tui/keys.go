package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every key the wizard answers to, in one place. The model
// enables only the bindings that make sense for the current focus, so the
// help line never offers a key that would do nothing.
type KeyMap struct {
	Up        key.Binding
	Down      key.Binding
	PageUp    key.Binding
	PageDown  key.Binding
	HalfUp    key.Binding
	HalfDown  key.Binding
	Top       key.Binding
	Bottom    key.Binding
	Open      key.Binding
	Back      key.Binding
	Next      key.Binding
	Prev      key.Binding
	NextCause key.Binding
	PrevCause key.Binding
	Fix       key.Binding
	Confirm   key.Binding
	Cancel    key.Binding
	OtherFix  key.Binding
	Rerun     key.Binding
	Report    key.Binding
	Timeline  key.Binding
	Filter    key.Binding
	Copy      key.Binding
	Switch    key.Binding
	Learn     key.Binding
	Help      key.Binding
	Suspend   key.Binding
	Repaint   key.Binding
	Quit      key.Binding

	// move and walk only label the short help: one entry for ↑/↓/j/k and
	// one for n/p keep the line short.
	move key.Binding
	walk key.Binding
	// fixOff answers f in read-only mode, where Fix would apply nothing,
	// so that f still opens the preview and says why y does nothing.
	fixOff   key.Binding
	readOnly bool
}

// DefaultKeyMap is the key map of the design: vim keys beside the arrows,
// single letters for the actions a person under pressure needs.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn/space", "page down")),
		HalfUp:    key.NewBinding(key.WithKeys("ctrl+u"), key.WithHelp("ctrl+u", "half page up")),
		HalfDown:  key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "half page down")),
		Top:       key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:    key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
		Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Next:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next step")),
		Prev:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "prev step")),
		NextCause: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next cause")),
		PrevCause: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "prev cause")),
		Fix:       key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fix")),
		Confirm:   key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "apply")),
		Cancel:    key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "cancel")),
		OtherFix:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "other fix")),
		Rerun:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rerun")),
		Report:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "report")),
		Timeline:  key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "timeline")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Copy:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy command")),
		Switch:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "switch master")),
		Learn:     key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "learn")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "keys")),
		Suspend:   key.NewBinding(key.WithKeys("ctrl+z"), key.WithHelp("ctrl+z", "suspend")),
		Repaint:   key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "repaint")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		move:      key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move")),
		walk:      key.NewBinding(key.WithKeys("n", "p"), key.WithHelp("n/p", "step")),
		fixOff:    key.NewBinding(key.WithKeys("f")),
	}
}

// shortHelp is the one-line help with each key's rank: on a narrow
// terminal the lowest ranks give way first, so q and ? always stay.
func (k KeyMap) shortHelp() []rankedKey {
	return []rankedKey{
		{k.Confirm, 9}, {k.Cancel, 9}, {k.OtherFix, 5},
		{k.move, 4}, {k.Open, 3}, {k.Back, 3}, {k.walk, 2}, {k.NextCause, 6},
		{k.Fix, 8}, {k.Rerun, 5}, {k.Report, 7}, {k.Learn, 6}, {k.Filter, 4}, {k.Timeline, 3},
		{k.Help, 10}, {k.Quit, 10},
	}
}

type rankedKey struct {
	b    key.Binding
	rank int
}

// ShortHelp is the one-line help at the bottom of the screen.
func (k KeyMap) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, r := range k.shortHelp() {
		out = append(out, r.b)
	}
	return out
}

// FullHelp is what `?` shows, grouped by purpose.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.HalfUp, k.HalfDown, k.Top, k.Bottom},
		{k.Open, k.Back, k.Next, k.Prev, k.NextCause, k.PrevCause, k.Filter},
		{k.Fix, k.Confirm, k.Cancel, k.OtherFix, k.Copy, k.Switch},
		{k.Rerun, k.Report, k.Timeline, k.Learn, k.Help, k.Suspend, k.Repaint, k.Quit},
	}
}

// forFocus enables the bindings that act in the given situation.
func (k *KeyMap) forFocus(f focus, busy bool) {
	inDialog := f == focusDialog
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.HalfUp, &k.HalfDown,
		&k.Top, &k.Bottom, &k.Help, &k.Quit, &k.Suspend, &k.Repaint} {
		b.SetEnabled(true)
	}
	k.Confirm.SetEnabled(inDialog && !busy && !k.readOnly)
	k.Cancel.SetEnabled(inDialog)
	k.OtherFix.SetEnabled(inDialog && !busy)
	k.move.SetHelp("↑/↓", "move")
	if inDialog {
		k.move.SetHelp("↑/↓", "scroll")
	}
	for _, b := range []*key.Binding{&k.Next, &k.Prev, &k.walk, &k.Rerun, &k.Report, &k.Learn,
		&k.Timeline, &k.Filter, &k.NextCause, &k.PrevCause, &k.Copy} {
		b.SetEnabled(!inDialog)
	}
	// In read-only mode f still previews: the plan is what a cautious
	// responder pastes into a change request.
	k.Fix.SetEnabled(!inDialog)
	if k.readOnly {
		k.Fix.SetHelp("f", "preview fix")
	}
	k.Open.SetEnabled(f == focusSteps)
	k.Back.SetEnabled(f == focusDetail)
}
