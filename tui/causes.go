package tui

import (
	"strconv"

	"github.com/ngxdoctor/ngxdoctor/checks"
	"github.com/ngxdoctor/ngxdoctor/fixes"
)

// causeStep is the step in whose detail a cause is explained and fixed,
// 0 when unknown.
func causeStep(id checks.CauseID) int { return checks.StepOf(id) }

// causesOfStep lists the indexes (into Outcome.Causes) of a step's causes.
func (m *Model) causesOfStep(n int) []int {
	if m.outcome == nil {
		return nil
	}
	var out []int
	for i, c := range m.outcome.Causes {
		if causeStep(c.ID) == n {
			out = append(out, i)
		}
	}
	return out
}

// fixesOf is the plan for cause i; none in read-only mode.
func (m *Model) fixesOf(i int) []fixes.Fix {
	if m.cfg.ReadOnly || i < 0 || i >= len(m.plans) {
		return nil
	}
	return m.plans[i]
}

// fixTarget is the cause f opens, in either pane: the selected step's own
// cause when it has a fix, else the most likely cause; -1 when neither has
// one. The verdict's hint and the detail's [f] follow it, so the screen
// names what f will do.
func (m *Model) fixTarget() int {
	if m.outcome == nil {
		return -1
	}
	for _, i := range m.causesOfStep(m.selected + 1) {
		if len(m.fixesOf(i)) > 0 {
			return i
		}
	}
	if len(m.fixesOf(0)) > 0 {
		return 0
	}
	return -1
}

// stepInfo is the step's definition (Why, Learn) when the engine gives one.
func (m *Model) stepInfo(n int) (checks.Step, bool) {
	if m.cfg.Steps == nil {
		return checks.Step{}, false
	}
	for _, s := range m.cfg.Steps() {
		if s.Number == n {
			return s, true
		}
	}
	return checks.Step{}, false
}

func (m *Model) stepTitle(n int) string {
	if s, ok := m.stepInfo(n); ok && s.Title != "" {
		return s.Title
	}
	if i := n - 1; i >= 0 && i < stepCount && m.steps[i].Title != "" {
		return m.steps[i].Title
	}
	return "Step " + strconv.Itoa(n)
}
