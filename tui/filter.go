package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ngxdoctor/ngxdoctor/checks"
)

// filterLine is the text typed after /.
type filterLine struct{ value string }

func (f filterLine) Value() string      { return f.value }
func (f *filterLine) SetValue(v string) { f.value = v }

// filterKey edits the filter line: each key narrows the screen at once;
// enter keeps the filter, esc drops it.
func (m *Model) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case msg.String() == "enter":
		m.filtering = false
		m.syncKeys()
		if f := m.filter.Value(); f != "" {
			m.setStatus(m.filterStatus(), false)
			// The matching cause is what was looked for: bring it into view.
			first := -1
			for _, l := range m.causeLine {
				if first < 0 || l < first {
					first = l
				}
			}
			if first >= 0 {
				m.detail.SetYOffset(first)
				m.refreshDetail(false)
			}
		}
		return nil
	case msg.String() == "esc", key.Matches(msg, m.keys.Quit) && msg.String() == "ctrl+c":
		m.filtering = false
		m.filter.SetValue("")
		m.syncKeys()
		m.applyFilter()
		return nil
	}
	switch msg.String() {
	case "backspace":
		if r := []rune(m.filter.value); len(r) > 0 {
			m.filter.value = string(r[:len(r)-1])
		}
	case "ctrl+u":
		m.filter.value = ""
	default:
		if msg.Text == "" || strings.ContainsAny(msg.Text, "\r\n\t\x1b") {
			return nil
		}
		m.filter.value += msg.Text
	}
	m.applyFilter()
	return nil
}

// applyFilter moves to the first step that matches when the selected one
// does not, and redraws the detail.
func (m *Model) applyFilter() {
	if m.filterText() != "" && m.stepMatches(m.selected) == 0 {
		for i := range m.steps {
			if m.stepMatches(i) > 0 {
				m.selected = i
				break
			}
		}
	}
	m.refreshDetail(true)
}

func (m *Model) filterText() string { return strings.ToLower(strings.TrimSpace(m.filter.Value())) }

// matches reports whether any of the texts holds the filter (no filter: all do).
func (m *Model) matches(texts ...string) bool {
	f := m.filterText()
	if f == "" {
		return true
	}
	for _, t := range texts {
		if strings.Contains(strings.ToLower(t), f) {
			return true
		}
	}
	return false
}

// stepMatches counts the lines of step i and its causes that hold the filter.
func (m *Model) stepMatches(i int) int {
	f := m.filterText()
	if f == "" {
		return 0
	}
	n := 0
	st := m.steps[i]
	if m.matches(st.Title) {
		n++
	}
	for _, c := range st.Checks {
		n += count(m, c.Summary)
		for _, e := range c.Evidence {
			n += count(m, e)
		}
	}
	for _, ci := range m.causesOfStep(st.Number) {
		c := m.outcome.Causes[ci]
		if m.matches(string(c.ID), c.Target, c.Summary) {
			n++
		}
		for _, e := range c.Evidence {
			n += count(m, e)
		}
	}
	return n
}

func count(m *Model, s string) int {
	if m.matches(s) {
		return 1
	}
	return 0
}

func (m *Model) filterStatus() string {
	total, steps := 0, 0
	for i := range m.steps {
		if n := m.stepMatches(i); n > 0 {
			total += n
			steps++
		}
	}
	if total == 0 {
		return fmt.Sprintf("filter %q: nothing matches (esc clears it)", m.filter.Value())
	}
	return fmt.Sprintf("filter %q: %d lines in %d steps (esc clears it)", m.filter.Value(), total, steps)
}

// checkShown says whether a check has anything that the filter keeps.
func (m *Model) checkShown(c checks.Result) bool {
	if m.filterText() == "" || m.matches(c.Summary) {
		return true
	}
	for _, e := range c.Evidence {
		if m.matches(e) {
			return true
		}
	}
	return false
}
