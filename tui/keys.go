package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every key the wizard answers to, in one place. The model
// enables only the bindings that make sense for the current focus, so the
// help line never offers a key that would do nothing.
type KeyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Open     key.Binding
	Back     key.Binding
	Next     key.Binding
	Prev     key.Binding
	Fix      key.Binding
	Confirm  key.Binding
	Cancel   key.Binding
	OtherFix key.Binding
	Rerun    key.Binding
	Report   key.Binding
	Learn    key.Binding
	Help     key.Binding
	Quit     key.Binding

	// move and walk only label the short help: one entry for ↑/↓/j/k and
	// one for n/p keep the line within 80 columns.
	move key.Binding
	walk key.Binding
	// fixOff answers f in read-only mode, where Fix is off and out of the
	// help, so that f can still say why nothing happens.
	fixOff   key.Binding
	readOnly bool
}

// DefaultKeyMap is the key map of the design: vim keys beside the arrows,
// single letters for the actions a person under pressure needs.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn/space", "page down")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Next:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next step")),
		Prev:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "prev step")),
		Fix:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "fix")),
		Confirm:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "apply")),
		Cancel:   key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "cancel")),
		OtherFix: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "other fix")),
		Rerun:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rerun")),
		Report:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "report")),
		Learn:    key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "learn")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "keys")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		move:     key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move")),
		walk:     key.NewBinding(key.WithKeys("n", "p"), key.WithHelp("n/p", "step")),
		fixOff:   key.NewBinding(key.WithKeys("f")),
	}
}

// ShortHelp is the one-line help at the bottom of the screen.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Confirm, k.Cancel, k.OtherFix, k.move, k.Open, k.Back, k.walk, k.Fix, k.Rerun, k.Report, k.Help, k.Quit}
}

// FullHelp is what `?` shows, grouped by purpose.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown},
		{k.Open, k.Back, k.Next, k.Prev},
		{k.Fix, k.Confirm, k.Cancel, k.OtherFix},
		{k.Rerun, k.Report, k.Learn, k.Help, k.Quit},
	}
}

// forFocus enables the bindings that act in the given situation.
func (k *KeyMap) forFocus(f focus, busy bool) {
	inDialog := f == focusDialog
	for _, b := range []*key.Binding{&k.Up, &k.Down, &k.PageUp, &k.PageDown, &k.Help, &k.Quit} {
		b.SetEnabled(true)
	}
	k.Confirm.SetEnabled(inDialog && !busy)
	k.Cancel.SetEnabled(inDialog)
	k.OtherFix.SetEnabled(inDialog && !busy)
	k.move.SetHelp("↑/↓", "move")
	if inDialog {
		k.move.SetHelp("↑/↓", "scroll")
	}
	for _, b := range []*key.Binding{&k.Next, &k.Prev, &k.walk, &k.Rerun, &k.Report, &k.Learn} {
		b.SetEnabled(!inDialog)
	}
	k.Fix.SetEnabled(!inDialog && !k.readOnly)
	k.Open.SetEnabled(f == focusSteps)
	k.Back.SetEnabled(f == focusDetail)
	// Paging only means something where there is a scrolling pane.
	k.PageUp.SetEnabled(f != focusSteps)
	k.PageDown.SetEnabled(f != focusSteps)
}
