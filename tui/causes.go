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

// fixesOf is the plan for cause i (shown even in read-only mode, where
// only applying is off).
func (m *Model) fixesOf(i int) []fixes.Fix {
	if i < 0 || i >= len(m.plans) {
		return nil
	}
	return m.plans[i]
}

// fixTarget is the cause f opens: the cause tab selected when it is in
// the selected step (or has no step), else the step's first cause with a
// fix, else the selected cause, else the most likely; -1 when none has a
// fix. The verdict's hint and the detail's [f] follow it, so the screen
// names what f will do.
func (m *Model) fixTarget() int {
	if m.outcome == nil {
		return -1
	}
	sel := m.causeSel
	if sel >= 0 && sel < len(m.outcome.Causes) && len(m.fixesOf(sel)) > 0 {
		if n := causeStep(m.outcome.Causes[sel].ID); n == 0 || n == m.selected+1 {
			return sel
		}
	}
	for _, i := range m.causesOfStep(m.selected + 1) {
		if len(m.fixesOf(i)) > 0 {
			return i
		}
	}
	if len(m.fixesOf(sel)) > 0 {
		return sel
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
